#include "clients/bench.hpp"

#include <sstream>
#include <thread>

#include <boost/asio.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/server.hpp"
#include "tests/support/wait.hpp"

namespace rc = radixrt::clients;
namespace rh = radixrt::http;
namespace net = boost::asio;

namespace {

struct live {
    rh::server srv;
    live() : srv(config()) {
        srv.start();
        EXPECT_TRUE(radixrt::test::wait_until([&] { return srv.api()->ready(); }));
    }
    static rh::server_config config() {
        rh::server_config c;
        c.port = 0;
        c.engine.kv_cache_bytes = 32u << 20;
        return c;
    }
};

rc::bench_options options(unsigned port) {
    rc::bench_options o;
    o.server.port = port;
    o.workload.groups = 2;
    o.workload.prompts_per_group = 4;
    o.workload.system_len = 64;
    o.workload.question_len = 8;
    o.workload.output_len = 6;
    o.workload.vocab_size = 259;
    o.max_concurrency = 4;
    o.progress = false;
    return o;
}

// A deliberately broken server: each connection gets one misbehaviour.
class faulty_server {
  public:
    explicit faulty_server(std::string mode)
        : mode_(std::move(mode)), acceptor_(ioc_, {net::ip::make_address("127.0.0.1"), 0}) {
        thread_ = std::thread([this] { loop(); });
    }
    ~faulty_server() {
        stop_ = true;
        boost::system::error_code ec;
        net::ip::tcp::socket poke(ioc_);
        poke.connect(acceptor_.local_endpoint(), ec); // wakes accept()
        thread_.join();
    }
    unsigned port() const { return acceptor_.local_endpoint().port(); }

  private:
    void loop() {
        while (!stop_) {
            net::ip::tcp::socket s(ioc_);
            boost::system::error_code ec;
            acceptor_.accept(s, ec);
            if (ec || stop_) {
                continue;
            }
            char buf[4096];
            s.read_some(net::buffer(buf), ec); // the request (enough of it)
            std::string reply;
            if (mode_ == "drop") {
                s.close();
                continue;
            } else if (mode_ == "malformed") {
                reply = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: "
                        "close\r\n\r\ndata: {not json\n\n";
            } else if (mode_ == "500") {
                const std::string body = R"({"error":{"message":"boom"}})";
                reply = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body;
            } else if (mode_ == "no-done") {
                reply = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: "
                        "close\r\n\r\ndata: {\"choices\":[{\"text\":\"x\"}]}\n\n";
            } else if (mode_ == "hang") {
                held_.push_back(std::move(s)); // never answers
                continue;
            }
            net::write(s, net::buffer(reply), ec);
            s.shutdown(net::ip::tcp::socket::shutdown_both, ec);
        }
    }
    std::string mode_;
    net::io_context ioc_;
    net::ip::tcp::acceptor acceptor_;
    std::vector<net::ip::tcp::socket> held_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

} // namespace

TEST(bench, counts_add_up_against_a_live_server) {
    live s;
    for (const char* endpoint : {"completions", "generate", "ws"}) {
        auto o = options(s.srv.port());
        o.server.endpoint = endpoint;
        std::ostringstream progress;
        const auto r = rc::run_bench(o, progress);
        EXPECT_EQ(r.sent, 8u) << endpoint;
        EXPECT_EQ(r.completed, 8u) << endpoint;
        EXPECT_EQ(r.completed + r.failed + r.cut, r.sent);
        EXPECT_EQ(r.output_tokens, 8u * 6u) << endpoint; // ignore_eos: exactly output_len each
        EXPECT_EQ(r.ttft.count, 8u);
        EXPECT_GT(r.cached_tokens, 0u) << endpoint; // groups share their system prompt
        EXPECT_GE(r.cache_hit_ratio_metrics, 0.0);
        EXPECT_GT(r.request_throughput, 0.0);
        EXPECT_LE(r.ttft.p50, r.e2e.p50);
        // The JSON report carries the documented fields.
        const auto j = nlohmann::json::parse(rc::report_json(r, o));
        for (const char* k : {"sent", "completed", "failed", "duration_s", "request_throughput",
                              "input_throughput", "output_throughput", "cache_hit_ratio_usage",
                              "cache_hit_ratio_metrics", "ttft", "itl", "tpot", "e2e"}) {
            EXPECT_TRUE(j.contains(k)) << k;
        }
        EXPECT_TRUE(j["ttft"].contains("p99_ms"));
        EXPECT_NE(rc::format_report(r, o).find("TTFT"), std::string::npos);
    }
}

TEST(bench, stops_at_duration) {
    live s;
    auto o = options(s.srv.port());
    o.workload.kind = "random";
    o.workload.num_prompts = 1000;
    o.workload.input_len = 16;
    o.workload.output_len = 4;
    o.request_rate = 20; // ~50 s of arrivals
    o.duration = 1.0;
    std::ostringstream progress;
    const auto r = rc::run_bench(o, progress);
    EXPECT_LT(r.sent, 1000u); // arrivals ran ~50 s; --duration 1 stopped sending
    EXPECT_GT(r.completed, 0u);
    EXPECT_EQ(r.completed + r.failed + r.cut, r.sent);
}

TEST(bench, faulty_servers_are_recorded_and_never_hang) {
    for (const char* mode : {"drop", "malformed", "500", "no-done", "hang"}) {
        faulty_server f(mode);
        auto o = options(f.port());
        o.timeout = 1.0;
        std::ostringstream progress;
        const auto r = rc::run_bench(o, progress);
        EXPECT_EQ(r.sent, 8u) << mode;
        EXPECT_EQ(r.failed, 8u) << mode;
        EXPECT_EQ(r.completed, 0u) << mode;
        ASSERT_FALSE(r.first_errors.empty()) << mode;
        EXPECT_FALSE(r.first_errors[0].empty());
        if (std::string(mode) == "hang") {
            EXPECT_EQ(r.first_errors[0],
                      "timed out (deadline)"); // ended by the per-request deadline
        }
    }
}
