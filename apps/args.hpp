#pragma once
// A small command-line parser: `--name value` options and `--flag` switches,
// typed getters with messages that name the option, and an error for
// anything left unused.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace radixrt::apps {

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class args {
  public:
    explicit args(std::vector<std::string> argv)
        : argv_(std::move(argv)), used_(argv_.size(), false) {}

    /// The value after --name, if present; every occurrence is consumed and
    /// the last one wins.
    std::optional<std::string> value(const std::string& name);
    /// Every value of a repeatable option, in order.
    std::vector<std::string> values(const std::string& name);
    bool flag(const std::string& name);
    std::string str(const std::string& name, std::string fallback);
    std::uint64_t uint(const std::string& name, std::uint64_t fallback,
                       std::uint64_t max = UINT64_MAX);
    double number(const std::string& name, double fallback, double min, double max);
    /// Remaining positional arguments (not starting with --), consumed.
    std::vector<std::string> positional();
    /// Throws usage_error naming the first argument nobody consumed.
    void finish() const;

  private:
    std::vector<std::string> argv_;
    std::vector<bool> used_;
};

} // namespace radixrt::apps
