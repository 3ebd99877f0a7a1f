// Attacks and accidents against a real server (issue 14): disconnect
// storms, deep JSON, tenant isolation of the prefix cache, per-client
// limits, honest metrics, and the small things.
#include "http/server.hpp"

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/http/live_server.hpp"

namespace rh = radixrt::http;
namespace rt = radixrt::test;
using nlohmann::json;
using rt::completion;
using rt::live_server;

namespace {

std::string deep(std::size_t levels) {
    return std::string(levels, '[') + std::string(levels, ']');
}

std::string key_file(const std::string& text) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("radixrt-keys-" + std::to_string(::getpid()) + ".txt");
    std::ofstream(path) << text;
    return path.string();
}

std::map<std::string, std::string> bearer(const std::string& key) {
    return {{"Authorization", "Bearer " + key}};
}

int cached(const rt::reply& r) {
    return json::parse(r.body)["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>();
}

} // namespace

// The crash of issue 14: WebSocket clients queue many short requests and
// drop the connection, round after round; every request ends, every block
// comes back (run under ASan and TSan too).
TEST(reliability, websocket_disconnect_storm_frees_everything) {
    live_server s;
    constexpr int rounds = 3, clients = 6, per_client = 150;
    for (int round = 0; round < rounds; ++round) {
        std::vector<std::unique_ptr<rt::ws_client>> socks;
        for (int c = 0; c < clients; ++c) {
            socks.push_back(std::make_unique<rt::ws_client>(s.port()));
            for (int i = 0; i < per_client; ++i) {
                socks.back()->send(
                    json{{"type", "generate"},
                         {"id", i},
                         {"prompt", "storm " + std::to_string(round * 10000 + c * 1000 + i)},
                         {"params", {{"max_tokens", 2}}}}
                        .dump());
            }
            EXPECT_NE(socks.back()->read().find("\"type\""), std::string::npos);
        }
        socks.clear(); // TCP closed without a WebSocket close
        ASSERT_TRUE(s.back_to_baseline()) << "round " << round;
    }
    // Every request the engine took in ended once. Not every request sent is
    // taken in: a client that closes with replies unread resets the
    // connection, and the reset discards what the server had not yet read.
    const auto st = s.server().api()->current_engine()->stats();
    EXPECT_EQ(st.requests_finished + st.requests_cancelled, st.requests_accepted);
    EXPECT_LE(st.requests_accepted, std::uint64_t(rounds * clients * per_client));
    EXPECT_GE(st.requests_accepted, std::uint64_t(rounds * clients)); // each client had a reply
    EXPECT_EQ(st.requests_failed, 0u);
}

TEST(reliability, deeply_nested_json_is_refused_not_followed) {
    live_server s;
    const std::string body = R"({"model":)" + deep(100000) + R"(,"prompt":"hi"})";
    const auto r = rt::post(s.port(), "/v1/completions", body);
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(json::parse(r.body)["error"]["code"], "invalid_json");
    // 64 levels are fine (the default limit), 65 are not.
    const auto ok = R"({"prompt":"hi","max_tokens":1,"metadata":)" + deep(63) + "}";
    EXPECT_NE(rt::post(s.port(), "/v1/completions", ok).status, 400u);
    const auto over = R"({"prompt":"hi","max_tokens":1,"metadata":)" + deep(64) + "}";
    EXPECT_EQ(rt::post(s.port(), "/v1/completions", over).status, 400u);
    // Brackets inside strings do not count.
    const auto in_string = R"({"prompt":")" + deep(1000) + R"(","max_tokens":1})";
    EXPECT_EQ(rt::post(s.port(), "/v1/completions", in_string).status, 200u);
    rt::ws_client c(s.port());
    c.send(R"({"type":"generate","id":)" + deep(100000) + "}");
    const auto e = json::parse(c.read());
    EXPECT_EQ(e["type"], "error");
    EXPECT_TRUE(e["id"].is_null());
    EXPECT_EQ(rt::request(s.port(), "GET", "/health").status, 200u);
}

// The probe of issue 14: another tenant's (or salt's) prefix never hits.
TEST(reliability, tenants_and_salts_never_share_the_cache) {
    auto cfg = live_server::base_config();
    cfg.api_key_file = key_file("# test keys\nka alice\nkb bob\nkroot ops admin\n");
    live_server s(cfg);
    std::filesystem::remove(cfg.api_key_file);
    const std::string secret = "Confidential diagnosis: " + std::string(120, 'z');
    const auto body = completion(secret, 1, false);
    EXPECT_EQ(cached(rt::post(s.port(), "/v1/completions", body, bearer("ka"))), 0);
    EXPECT_EQ(cached(rt::post(s.port(), "/v1/completions", body, bearer("kb"))), 0);
    EXPECT_GT(cached(rt::post(s.port(), "/v1/completions", body, bearer("ka"))), 100);
    const auto salted = completion(secret, 1, false, R"(,"cache_salt":"s1")");
    EXPECT_EQ(cached(rt::post(s.port(), "/v1/completions", salted, bearer("ka"))), 0);
    EXPECT_GT(cached(rt::post(s.port(), "/v1/completions", salted, bearer("ka"))), 100);
    // /v1/cache: a tenant sees its own namespaces only; the admin sees all.
    auto nss = [&](const std::string& key) {
        std::set<std::string> out;
        const auto c = json::parse(rt::request(s.port(), "GET", "/v1/cache", "", bearer(key)).body);
        for (const auto& n : c["graph"]["nodes"]) {
            out.insert(n["namespace"].get<std::string>());
        }
        return out;
    };
    EXPECT_EQ(nss("ka"), (std::set<std::string>{"alice/", "alice/s1"}));
    EXPECT_EQ(nss("kb"), (std::set<std::string>{"bob/"}));
    EXPECT_EQ(nss("kroot"), (std::set<std::string>{"alice/", "alice/s1", "bob/"}));
    const auto scoped =
        json::parse(rt::request(s.port(), "GET", "/v1/cache", "", bearer("kb")).body);
    EXPECT_TRUE(scoped["hits"].is_null()); // global counters are the admin's
    EXPECT_EQ(rt::post(s.port(), "/v1/cache/flush", "", bearer("ka")).status, 403u);
    EXPECT_EQ(rt::post(s.port(), "/v1/cache/flush", "", bearer("kroot")).status, 200u);
    // The key scheme is case-insensitive; unknown keys learn nothing, not even routes.
    EXPECT_EQ(
        rt::request(s.port(), "GET", "/v1/models", "", {{"Authorization", "bEaReR ka"}}).status,
        200u);
    EXPECT_EQ(rt::request(s.port(), "GET", "/nope").status, 401u);
    EXPECT_EQ(rt::request(s.port(), "GET", "/v1/completions").status, 401u);
    EXPECT_EQ(rt::request(s.port(), "GET", "/nope", "", bearer("ka")).status, 404u);
}

TEST(reliability, websockets_count_as_connections_and_have_a_request_cap) {
    auto cfg = live_server::base_config();
    cfg.max_connections = 3;
    cfg.max_requests_per_connection = 4;
    live_server s(cfg);
    {
        rt::ws_client a(s.port()), b(s.port()), c(s.port());
        EXPECT_EQ(rt::request(s.port(), "GET", "/health").status, 503u); // the fourth
        for (int i = 0; i < 6; ++i) {
            a.send(json{{"type", "generate"},
                        {"id", i},
                        {"prompt", "cap"},
                        {"params", {{"max_tokens", 1000}, {"ignore_eos", true}}}}
                       .dump());
        }
        int refused = 0;
        for (int seen = 0; refused < 2 && seen < 10000; ++seen) {
            const auto m = json::parse(a.read());
            if (m["type"] == "error") {
                EXPECT_EQ(m["error"]["code"], "too_many_requests");
                ++refused;
            }
        }
        EXPECT_EQ(refused, 2);
    }
    ASSERT_TRUE(
        rt::wait_until([&] { return rt::request(s.port(), "GET", "/health").status == 200; }));
    ASSERT_TRUE(s.back_to_baseline());
}

TEST(reliability, batches_are_admitted_all_or_nothing) {
    auto cfg = live_server::base_config();
    cfg.max_requests_per_connection = 4;
    cfg.engine.max_queued_requests = 5;
    live_server s(cfg);
    auto eng = s.server().api()->current_engine();
    const auto before = eng->stats();
    auto r = rt::post(s.port(), "/v1/completions",
                      R"({"prompt":["a","b","c"],"n":2,"max_tokens":2})"); // 6 > 4 per connection
    EXPECT_EQ(r.status, 429u);
    EXPECT_EQ(json::parse(r.body)["error"]["code"], "too_many_requests");
    // 6 > 5 in the engine's queue: none queued, one 503 counted once.
    live_server t([] {
        auto c = live_server::base_config();
        c.engine.max_queued_requests = 5;
        return c;
    }());
    r = rt::post(t.port(), "/v1/completions", R"({"prompt":["a","b","c"],"n":2,"max_tokens":2})");
    EXPECT_EQ(r.status, 503u);
    EXPECT_EQ(json::parse(r.body)["error"]["code"], "overloaded");
    EXPECT_EQ(t.metric("radixrt_requests_total{endpoint=\"/v1/completions\",outcome=\"503\"}"), 1);
    const auto st = t.server().api()->current_engine()->stats();
    EXPECT_EQ(st.requests_finished + st.requests_cancelled, 0u); // nothing ran
    EXPECT_EQ(eng->stats().requests_finished + eng->stats().requests_cancelled,
              before.requests_finished + before.requests_cancelled);
}

TEST(reliability, a_client_gone_mid_stream_counts_as_cancelled) {
    live_server s;
    {
        rt::net::io_context ioc;
        rt::beast::tcp_stream sock(ioc);
        sock.connect(rt::tcp::endpoint(rt::net::ip::make_address("127.0.0.1"),
                                       rt::net::ip::port_type(s.port())));
        const std::string body = completion("going away", 1500, true);
        const std::string req = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body;
        rt::net::write(sock, rt::net::buffer(req));
        char buf[512];
        sock.read_some(rt::net::buffer(buf));
    }
    ASSERT_TRUE(s.back_to_baseline());
    EXPECT_TRUE(rt::wait_until([&] {
        return s.metric(
                   "radixrt_requests_total{endpoint=\"/v1/completions\",outcome=\"cancelled\"}") ==
               1;
    }));
}

TEST(reliability, pipelined_requests_then_half_close_are_all_answered) {
    live_server s;
    const std::string body = completion("pipelined", 3, false);
    std::string req = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body;
    rt::net::io_context ioc;
    rt::tcp::socket sock(ioc);
    sock.connect(rt::tcp::endpoint(rt::net::ip::make_address("127.0.0.1"),
                                   rt::net::ip::port_type(s.port())));
    rt::net::write(sock, rt::net::buffer(req + req + req));
    sock.shutdown(rt::tcp::socket::shutdown_send); // done sending, still reading
    std::string all;
    char buf[4096];
    bool closed = false;
    std::function<void()> read = [&] {
        sock.async_read_some(rt::net::buffer(buf),
                             [&](boost::system::error_code ec, std::size_t n) {
                                 all.append(buf, n);
                                 if (ec) {
                                     closed = true;
                                     return;
                                 }
                                 read();
                             });
    };
    read();
    ioc.run_for(std::chrono::seconds(60)); // ends when the server closes, after the answers
    EXPECT_TRUE(closed);
    std::size_t answers = 0;
    for (auto at = all.find("HTTP/1.1 200"); at != std::string::npos;
         at = all.find("HTTP/1.1 200", at + 1)) {
        ++answers;
    }
    EXPECT_EQ(answers, 3u);
}

// Where step time goes is on /metrics: the scheduler's iterations, of which
// executor compute, of which the forward pass.
TEST(reliability, step_time_metrics_nest) {
    live_server s;
    EXPECT_EQ(rt::post(s.port(), "/v1/completions", completion("where time goes", 4, false)).status,
              200u);
    // One scrape for all three, so that they come from one publication.
    const auto value = [](const std::string& body, const std::string& name) {
        const auto at = body.find("\n" + name + " ");
        return at == std::string::npos ? -1.0 : std::stod(body.substr(at + name.size() + 2));
    };
    double iteration = 0, compute = 0, forward = 0;
    EXPECT_TRUE(rt::wait_until([&] {
        const auto body = rt::request(s.port(), "GET", "/metrics").body;
        iteration = value(body, "radixrt_scheduler_step_seconds_total");
        compute = value(body, "radixrt_step_compute_seconds_total");
        forward = value(body, "radixrt_step_forward_seconds_total");
        return forward > 0 && iteration > 0;
    }));
    EXPECT_LE(forward, compute);
    EXPECT_LE(compute, iteration);
}
