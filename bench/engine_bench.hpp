// Pieces shared by the in-process engine benchmarks: a sink that only waits
// for the finish, and "--name value" flags parsed into typed fields.
#pragma once

#include <cstdio>
#include <functional>
#include <future>
#include <map>
#include <string>

#include "radixrt/engine.hpp"

namespace radixrt::bench {

class finish_waiter : public radixrt::stream_sink {
  public:
    void on_token(const radixrt::token_event&) override {}
    void on_finish(const radixrt::finish_event& e) override { done_.set_value(e.reason); }
    std::future<radixrt::finish_reason> result() { return done_.get_future(); }

  private:
    std::promise<radixrt::finish_reason> done_;
};

// Each flag takes one value; false (after a message) on an unknown flag, a
// missing value or a value that is not a number where one is needed.
inline bool parse_flags(int argc, char** argv,
                        const std::map<std::string, std::function<void(const std::string&)>>& set) {
    for (int i = 1; i < argc; i += 2) {
        const std::string k = argv[i];
        const auto it = set.find(k);
        if (it == set.end() || i + 1 >= argc) {
            std::fprintf(stderr, "%s %s\n", it == set.end() ? "unknown option" : "no value for",
                         k.c_str());
            return false;
        }
        try {
            it->second(argv[i + 1]);
        } catch (const std::exception&) {
            std::fprintf(stderr, "bad value for %s: %s\n", k.c_str(), argv[i + 1]);
            return false;
        }
    }
    return true;
}

inline std::function<void(const std::string&)> size_flag(std::size_t& x) {
    return [&x](const std::string& v) { x = std::stoul(v); };
}

} // namespace radixrt::bench
