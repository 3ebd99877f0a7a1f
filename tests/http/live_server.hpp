#pragma once
// A real server on an ephemeral loopback port with the built-in model, for
// black-box HTTP and WebSocket tests, and request helpers.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/server.hpp"
#include "tests/http/test_client.hpp"
#include "tests/support/wait.hpp"

namespace radixrt::test {

namespace rh = radixrt::http;
namespace rt = radixrt::test;

// A server on an ephemeral loopback port, with the built-in model.
class live_server {
  public:
    explicit live_server(rh::server_config cfg = base_config()) : srv_(adjust(std::move(cfg))) {
        srv_.start();
        EXPECT_TRUE(rt::wait_until([&] { return srv_.api()->ready(); }));
    }
    static rh::server_config base_config() {
        rh::server_config c;
        c.engine.kv_cache_bytes = 32u << 20;
        return c;
    }
    unsigned port() const { return srv_.port(); }
    rh::server& server() { return srv_; }
    // The prometheus value of a metric line (first match), or -1.
    double metric(const std::string& line_prefix) {
        const auto body = rt::request(port(), "GET", "/metrics").body;
        const auto at = body.find("\n" + line_prefix + " ");
        return at == std::string::npos ? -1 : std::stod(body.substr(at + line_prefix.size() + 2));
    }
    // Waits until no request runs and no KV block is held by one.
    bool back_to_baseline() {
        return rt::wait_until([&] {
            const auto s = srv_.api()->current_engine()->stats();
            return s.running == 0 && s.waiting == 0 &&
                   s.kv_blocks_free + s.kv_blocks_cached == s.kv_blocks_total &&
                   s.kv_blocks_evictable == s.kv_blocks_cached;
        });
    }

  private:
    static rh::server_config adjust(rh::server_config c) {
        c.port = 0;
        return c;
    }
    rh::server srv_;
};

inline std::string completion(const std::string& prompt, int max_tokens, bool stream,
                              const std::string& extra = "") {
    return R"({"prompt":)" + nlohmann::json(prompt).dump() + R"(,"max_tokens":)" +
           std::to_string(max_tokens) + R"(,"temperature":0,"ignore_eos":true,"stream":)" +
           (stream ? "true" : "false") + extra + "}";
}

} // namespace radixrt::test
