#include "http/server.hpp"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/http/live_server.hpp"

namespace rh = radixrt::http;
namespace rt = radixrt::test;
using nlohmann::json;
using rt::completion;
using rt::live_server;

TEST(server, health_models_tokenize) {
    live_server s;
    auto h = rt::request(s.port(), "GET", "/health");
    EXPECT_EQ(h.status, 200u);
    EXPECT_EQ(json::parse(h.body)["status"], "ok");
    auto m = json::parse(rt::request(s.port(), "GET", "/v1/models").body);
    EXPECT_EQ(m["object"], "list");
    EXPECT_EQ(m["data"][0]["id"], "radixrt-builtin");
    auto t = json::parse(rt::post(s.port(), "/tokenize", R"({"text":"héllo wörld"})").body);
    EXPECT_EQ(t["count"], t["tokens"].size());
    auto d =
        json::parse(rt::post(s.port(), "/detokenize", json{{"tokens", t["tokens"]}}.dump()).body);
    EXPECT_EQ(d["text"], "héllo wörld");
}

TEST(server, streaming_and_plain_answers_agree) {
    live_server s;
    const auto plain = json::parse(
        rt::post(s.port(), "/v1/completions", completion("Once upon a time", 16, false)).body);
    const auto text = plain["choices"][0]["text"].get<std::string>();
    EXPECT_EQ(plain["object"], "text_completion");
    EXPECT_EQ(plain["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(plain["usage"]["completion_tokens"], 16);
    EXPECT_EQ(plain["usage"]["total_tokens"], plain["usage"]["prompt_tokens"].get<int>() + 16);
    auto r = rt::post(
        s.port(), "/v1/completions",
        completion("Once upon a time", 16, true, R"(,"stream_options":{"include_usage":true})"));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.headers["Content-Type"], "text/event-stream");
    const auto events = rt::sse_events(r.body);
    ASSERT_GE(events.size(), 3u);
    EXPECT_EQ(events.back(), "[DONE]");
    std::string streamed;
    int finishes = 0;
    for (std::size_t i = 0; i + 1 < events.size(); ++i) {
        const auto e = json::parse(events[i]); // every event is one JSON object
        ASSERT_TRUE(e.contains("usage"));      // include_usage: null until the last chunk
        if (!e["choices"].empty()) {
            EXPECT_TRUE(e["usage"].is_null());
            streamed += e["choices"][0]["text"].get<std::string>();
            finishes += !e["choices"][0]["finish_reason"].is_null();
        } else {
            EXPECT_EQ(e["usage"]["completion_tokens"], 16); // the usage chunk
        }
    }
    EXPECT_EQ(streamed, text);
    EXPECT_EQ(finishes, 1);
    // chat: deltas concatenate to the plain message
    const std::string chat =
        R"({"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"max_tokens":10,"temperature":0,"ignore_eos":true)";
    const auto cp = json::parse(rt::post(s.port(), "/v1/chat/completions", chat + "}").body);
    EXPECT_EQ(cp["object"], "chat.completion");
    EXPECT_EQ(cp["choices"][0]["message"]["role"], "assistant");
    std::string deltas;
    const auto cev = rt::sse_events(
        rt::post(s.port(), "/v1/chat/completions", chat + R"(,"stream":true})").body);
    EXPECT_EQ(json::parse(cev[0])["choices"][0]["delta"]["role"], "assistant");
    for (std::size_t i = 0; i + 1 < cev.size(); ++i) {
        const auto e = json::parse(cev[i]);
        EXPECT_EQ(e["object"], "chat.completion.chunk");
        deltas += e["choices"][0]["delta"].value("content", "");
    }
    EXPECT_EQ(deltas, cp["choices"][0]["message"]["content"].get<std::string>());
}

TEST(server, repeated_prompt_reports_cached_tokens) {
    live_server s;
    const std::string prompt(200, 'x'); // 200 byte tokens + BOS
    const auto first =
        json::parse(rt::post(s.port(), "/v1/completions", completion(prompt, 2, false)).body);
    const auto second =
        json::parse(rt::post(s.port(), "/v1/completions", completion(prompt, 2, false)).body);
    EXPECT_EQ(first["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
    // every whole block of the prompt but the last token's
    EXPECT_EQ(second["usage"]["prompt_tokens_details"]["cached_tokens"], 200 / 16 * 16);
    EXPECT_EQ(first["choices"][0]["text"], second["choices"][0]["text"]);
    // logprobs: one per token, each <= 0, token texts concatenating to the text
    const auto lp = json::parse(
        rt::post(s.port(), "/v1/completions", completion(prompt, 4, false, R"(,"logprobs":0)"))
            .body);
    const auto& l = lp["choices"][0]["logprobs"];
    ASSERT_EQ(l["token_logprobs"].size(), 4u);
    std::string joined;
    for (std::size_t i = 0; i < 4; ++i) {
        EXPECT_LE(l["token_logprobs"][i].get<double>(), 0.0);
        EXPECT_EQ(l["text_offset"][i].get<std::size_t>(), joined.size());
        joined += l["tokens"][i].get<std::string>();
    }
    EXPECT_EQ(joined, lp["choices"][0]["text"]);
    auto g =
        json::parse(rt::post(s.port(), "/generate",
                             json{{"text", prompt},
                                  {"sampling_params", {{"max_new_tokens", 2}, {"temperature", 0}}}}
                                 .dump())
                        .body);
    EXPECT_EQ(g["meta_info"]["cached_tokens"], 200 / 16 * 16);
    EXPECT_EQ(g["text"], first["choices"][0]["text"]);
    EXPECT_GT(s.metric("radixrt_cache_hit_tokens_total"), 0);
}

TEST(server, error_table) {
    auto cfg = live_server::base_config();
    cfg.max_body_bytes = 4096;
    live_server s(cfg);
    struct row {
        std::string method, target, body;
        unsigned status;
        std::string code;
    };
    const std::vector<row> rows = {
        {"POST", "/v1/completions", "{not json", 400, "invalid_json"},
        {"POST", "/v1/completions", "[1,2]", 400, "invalid_json"},
        {"POST", "/v1/completions", R"({"prompt":"x","max_tokens":"ten"})", 400, "invalid_value"},
        {"POST", "/v1/completions", R"({"prompt":"x","temperature":9})", 400, "invalid_value"},
        {"POST", "/v1/completions", R"({"prompt":"x","stop":[1]})", 400, "invalid_value"},
        {"POST", "/v1/completions", R"({"prompt":[1,999999]})", 400, "invalid_value"},
        {"POST", "/v1/completions", R"({"max_tokens":3})", 400, "invalid_value"},
        {"POST", "/v1/completions", R"({"prompt":"x","model":"gpt-9"})", 404, "model_not_found"},
        {"POST", "/v1/completions", R"({"prompt":"x","max_tokens":2047})", 400,
         "context_length_exceeded"},
        {"POST", "/v1/chat/completions", R"({"messages":[]})", 400, "invalid_value"},
        {"POST", "/v1/chat/completions", R"({"messages":[{"role":"wizard","content":"x"}]})", 400,
         "invalid_value"},
        {"POST", "/generate", R"({"sampling_params":{}})", 400, "invalid_value"},
        {"POST", "/detokenize", R"({"tokens":[-1]})", 400, "invalid_value"},
        {"GET", "/nope", "", 404, "not_found"},
        {"GET", "/v1/completions", "", 405, "method_not_allowed"},
        {"POST", "/v1/completions", std::string(5000, ' '), 413, "payload_too_large"},
    };
    for (const auto& r : rows) {
        const auto got = rt::request(s.port(), r.method, r.target, r.body);
        EXPECT_EQ(got.status, r.status)
            << r.method << " " << r.target << " " << r.body.substr(0, 60);
        const auto j = json::parse(got.body, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << got.body;
        EXPECT_EQ(j["error"]["code"], r.code) << got.body;
        EXPECT_TRUE(j["error"]["message"].is_string());
        EXPECT_TRUE(j["error"]["type"].is_string());
    }
    // The context error gives the numbers.
    const auto ctx = json::parse(
        rt::post(s.port(), "/v1/completions", R"({"prompt":"x","max_tokens":2047})").body);
    EXPECT_NE(ctx["error"]["message"].get<std::string>().find("2048"), std::string::npos);
    EXPECT_EQ(rt::request(s.port(), "GET", "/v1/completions").headers["Allow"], "POST");
    // Garbage instead of HTTP: a 400, and the server lives on.
    EXPECT_NE(
        rt::raw(s.port(), "NOT HTTP AT ALL\r\n\r\n", std::chrono::milliseconds(2000)).find("400"),
        std::string::npos);
    EXPECT_EQ(rt::request(s.port(), "GET", "/health").status, 200u);
    EXPECT_TRUE(s.back_to_baseline());
}

TEST(server, api_key_guards_everything_but_health) {
    auto cfg = live_server::base_config();
    cfg.api_key = "s3cret";
    live_server s(cfg);
    EXPECT_EQ(rt::request(s.port(), "GET", "/health").status, 200u);
    EXPECT_EQ(rt::request(s.port(), "GET", "/v1/models").status, 401u);
    EXPECT_EQ(
        rt::request(s.port(), "GET", "/metrics", "", {{"Authorization", "Bearer wrong"}}).status,
        401u);
    EXPECT_EQ(rt::post(s.port(), "/v1/completions", completion("x", 1, false)).status, 401u);
    EXPECT_EQ(rt::post(s.port(), "/v1/completions", completion("x", 1, false),
                       {{"Authorization", "Bearer s3cret"}})
                  .status,
              200u);
    EXPECT_THROW(rt::ws_client c(s.port()), boost::system::system_error);
    rt::ws_client ok(s.port(), {{"Authorization", "Bearer s3cret"}});
}

TEST(server, overload_gets_503_with_retry_after) {
    auto cfg = live_server::base_config();
    cfg.engine.max_running = 1;
    cfg.engine.max_queued_requests = 1;
    live_server s(cfg);
    std::vector<std::thread> clients;
    std::atomic<int> ok{0}, overloaded{0};
    for (int i = 0; i < 6; ++i) {
        clients.emplace_back([&, i] {
            auto r = rt::post(s.port(), "/v1/completions",
                              completion("request " + std::to_string(i), 300, false));
            if (r.status == 200) {
                ++ok;
            } else if (r.status == 503 && r.headers.count("Retry-After") &&
                       json::parse(r.body)["error"]["code"] == "overloaded") {
                ++overloaded;
            }
        });
    }
    for (auto& t : clients) {
        t.join();
    }
    EXPECT_GT(overloaded.load(), 0);
    EXPECT_GT(ok.load(), 0);
    EXPECT_EQ(ok + overloaded, 6);
}

TEST(server, websocket_interleaves_cancels_and_cleans_up) {
    live_server s;
    {
        rt::ws_client c(s.port());
        c.send(
            R"({"type":"generate","id":"a","prompt":"first","params":{"max_tokens":6,"temperature":0,"ignore_eos":true}})");
        c.send(
            R"({"type":"generate","id":7,"prompt":"second","params":{"max_tokens":6,"temperature":0,"ignore_eos":true}})");
        c.send(
            R"({"type":"generate","id":"long","prompt":"third","params":{"max_tokens":1500,"ignore_eos":true}})");
        c.send(R"({"type":"cancel","id":"long"})");
        c.send(R"({"type":"bogus","id":"x"})");
        c.send("not json");
        std::map<std::string, int> tokens;
        std::map<std::string, std::string> done;
        int errors = 0;
        while (done.size() < 3 || errors < 2) {
            const auto m = json::parse(c.read());
            const std::string id =
                m["id"].is_string() ? m["id"].get<std::string>() : m["id"].dump();
            if (m["type"] == "token") {
                EXPECT_EQ(m["index"], tokens[id]++); // in order per request
                EXPECT_TRUE(m["text"].is_string());
            } else if (m["type"] == "done") {
                done[id] = m["finish_reason"];
                EXPECT_EQ(m["usage"]["completion_tokens"], tokens[id]);
            } else {
                ++errors;
                EXPECT_TRUE(m["error"]["message"].is_string());
            }
        }
        EXPECT_EQ(done["a"], "length");
        EXPECT_EQ(done["7"], "length");
        EXPECT_EQ(done["long"], "cancelled");
        EXPECT_EQ(tokens["a"], 6);
        // A request left running when the socket closes is cancelled.
        c.send(
            R"({"type":"generate","id":"orphan","prompt":"fourth","params":{"max_tokens":1500,"ignore_eos":true}})");
        EXPECT_EQ(json::parse(c.read())["type"], "token");
    } // socket closed mid-stream
    auto eng = s.server().api()->current_engine();
    EXPECT_TRUE(rt::wait_until([&] { return eng->stats().requests_cancelled >= 2; }));
    EXPECT_EQ(eng->stats().requests_cancelled, 2u); // "long" by message, "orphan" by the close
    EXPECT_TRUE(s.back_to_baseline());
}

TEST(server, client_disconnect_mid_sse_cancels) {
    live_server s;
    {
        rt::net::io_context ioc;
        rt::beast::tcp_stream sock(ioc);
        sock.connect(rt::tcp::endpoint(rt::net::ip::make_address("127.0.0.1"),
                                       rt::net::ip::port_type(s.port())));
        const std::string body = completion("a long story", 1500, true);
        const std::string req = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                "application/json\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body;
        rt::net::write(sock, rt::net::buffer(req));
        char buf[512];
        const auto n = sock.read_some(rt::net::buffer(buf)); // the stream has started
        EXPECT_NE(std::string(buf, n).find("text/event-stream"), std::string::npos);
    } // gone
    auto eng = s.server().api()->current_engine();
    EXPECT_TRUE(rt::wait_until([&] { return eng->stats().requests_cancelled >= 1; }));
    EXPECT_EQ(eng->stats().requests_cancelled, 1u);
    EXPECT_TRUE(s.back_to_baseline());
    EXPECT_EQ(s.metric("radixrt_requests_running"), 0);
}

TEST(server, sixty_four_concurrent_streams) {
    auto cfg = live_server::base_config();
    cfg.threads = 2;
    live_server s(cfg);
    const auto want =
        json::parse(rt::post(s.port(), "/v1/completions", completion("shared prompt", 8, false))
                        .body)["choices"][0]["text"];
    std::vector<std::thread> clients;
    std::atomic<int> good{0};
    for (int i = 0; i < 64; ++i) {
        clients.emplace_back([&] {
            const auto events = rt::sse_events(
                rt::post(s.port(), "/v1/completions", completion("shared prompt", 8, true)).body);
            std::string text;
            for (std::size_t k = 0; k + 1 < events.size(); ++k) {
                text += json::parse(events[k])["choices"][0]["text"].get<std::string>();
            }
            good += !events.empty() && events.back() == "[DONE]" && text == want.get<std::string>();
        });
    }
    for (auto& t : clients) {
        t.join();
    }
    EXPECT_EQ(good.load(), 64);
    EXPECT_TRUE(s.back_to_baseline());
}

TEST(server, slow_client_is_dropped) {
    auto cfg = live_server::base_config();
    cfg.header_timeout = std::chrono::milliseconds(300);
    live_server s(cfg);
    bool closed = false;
    const auto got = rt::raw(s.port(), "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-",
                             std::chrono::seconds(10), &closed);
    EXPECT_EQ(got, "");  // no answer
    EXPECT_TRUE(closed); // the server hung up; our own 10 s wait did not end it
}

TEST(server, graceful_shutdown_drains_then_ends_streams) {
    auto cfg = live_server::base_config();
    cfg.drain_timeout = std::chrono::milliseconds(300);
    live_server s(cfg);
    std::string body;
    std::thread client([&] {
        body = rt::post(s.port(), "/v1/completions", completion("endless", 1800, true)).body;
    });
    ASSERT_TRUE(
        rt::wait_until([&] { return s.server().api()->current_engine()->stats().running > 0; }));
    s.server().shutdown();
    client.join();
    const auto events = rt::sse_events(body);
    ASSERT_GE(events.size(), 2u);
    EXPECT_EQ(events.back(), "[DONE]");
    EXPECT_EQ(json::parse(events[events.size() - 2])["error"]["code"], "shutting_down");
}

// A load balancer must see the replica unhealthy while it still serves: in
// the drain grace /health is 503 ("draining"), new requests still succeed,
// and only afterwards is the listener closed.
TEST(server, health_is_503_during_drain_grace_while_requests_still_succeed) {
    auto cfg = live_server::base_config();
    cfg.drain_grace = std::chrono::milliseconds(5000);
    live_server s(cfg);
    EXPECT_EQ(rt::request(s.port(), "GET", "/health").status, 200);
    std::thread stopper([&] { s.server().shutdown(); });
    ASSERT_TRUE(rt::wait_until([&] { return s.server().api()->draining(); }));
    const auto health = rt::request(s.port(), "GET", "/health");
    EXPECT_EQ(health.status, 503);
    EXPECT_EQ(json::parse(health.body)["status"], "draining");
    const auto r = rt::post(s.port(), "/v1/completions", completion("still served", 2, false));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_FALSE(s.server().api()->shutting_down()); // the grace has not run out yet
    stopper.join();
    EXPECT_TRUE(s.server().api()->shutting_down());
}

TEST(server, too_many_connections_are_refused) {
    auto cfg = live_server::base_config();
    cfg.max_connections = 2;
    live_server s(cfg);
    rt::net::io_context ioc;
    std::vector<std::unique_ptr<rt::tcp::socket>> held;
    for (int i = 0; i < 2; ++i) {
        held.push_back(std::make_unique<rt::tcp::socket>(ioc));
        held.back()->connect(rt::tcp::endpoint(rt::net::ip::make_address("127.0.0.1"),
                                               rt::net::ip::port_type(s.port())));
    }
    // The acceptor takes connections in order: the third is over the limit.
    EXPECT_EQ(rt::request(s.port(), "GET", "/health").status, 503u);
    held.clear();
    // Once the server has seen the two close, connections are welcome again.
    EXPECT_TRUE(
        rt::wait_until([&] { return rt::request(s.port(), "GET", "/health").status == 200; }));
}

TEST(server, prompt_batches_n_and_echo) {
    live_server s;
    const auto one =
        json::parse(rt::post(s.port(), "/v1/completions", completion("alpha", 5, false)).body);
    const auto r = json::parse(
        rt::post(
            s.port(), "/v1/completions",
            R"({"prompt":["alpha","beta"],"n":2,"max_tokens":5,"temperature":0,"ignore_eos":true,"echo":true})")
            .body);
    ASSERT_EQ(r["choices"].size(), 4u);
    for (std::size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(r["choices"][i]["index"], i);
        EXPECT_EQ(r["choices"][i]["text"].get<std::string>().rfind(i < 2 ? "alpha" : "beta", 0),
                  0u); // echoed
    }
    // greedy: both samples of a prompt agree, and match the single request
    EXPECT_EQ(r["choices"][0]["text"], "alpha" + one["choices"][0]["text"].get<std::string>());
    EXPECT_EQ(r["choices"][0]["text"], r["choices"][1]["text"]);
    // a prompt counts once in usage, however many samples
    const auto pa = one["usage"]["prompt_tokens"].get<int>();
    EXPECT_EQ(r["usage"]["completion_tokens"], 20);
    EXPECT_GE(r["usage"]["prompt_tokens"].get<int>(), pa);
    EXPECT_LT(r["usage"]["prompt_tokens"].get<int>(), 4 * pa);
}

TEST(server, engine_errors_name_each_api_s_own_field) {
    live_server s;
    struct row {
        std::string target, body, code, param;
    };
    const std::vector<row> rows = {
        {"/v1/completions", R"({"prompt":[1,999999]})", "invalid_value", "prompt"},
        {"/v1/completions", R"({"prompt":"x","stop_token_ids":[999999]})", "invalid_value",
         "stop_token_ids"},
        {"/generate", R"({"input_ids":[1,999999]})", "invalid_value", "input_ids"},
        {"/generate", R"({"text":"x","sampling_params":{"max_new_tokens":3000}})",
         "context_length_exceeded", "text"},
        {"/generate", R"({"input_ids":"1 2 3"})", "invalid_value", "input_ids"},
        {"/v1/chat/completions",
         R"({"messages":[{"role":"user","content":"x"}],"max_tokens":2047})",
         "context_length_exceeded", "messages"},
        {"/v1/completions", R"({"prompt":"x","logit_bias":{"4294967301":1}})", "invalid_value",
         "logit_bias"},
        {"/v1/completions", R"({"prompt":"x","model":[[[1]]]})", "invalid_value", "model"},
    };
    for (const auto& r : rows) {
        const auto got = rt::post(s.port(), r.target, r.body);
        EXPECT_EQ(got.status, 400u) << r.body;
        const auto j = json::parse(got.body);
        EXPECT_EQ(j["error"]["code"], r.code) << r.body;
        EXPECT_EQ(j["error"]["param"], r.param) << r.body;
    }
    EXPECT_TRUE(s.back_to_baseline());
}

TEST(server, cache_introspection_and_flush) {
    live_server s;
    const std::string prompt(100, 'y'); // BOS + 100 byte tokens: 6 full blocks
    const auto cold =
        json::parse(rt::post(s.port(), "/v1/completions", completion(prompt, 2, false)).body);
    auto c = json::parse(rt::request(s.port(), "GET", "/v1/cache").body);
    // The pool's capacity: 32 MiB of F16 KV for the built-in model (4 layers x
    // K,V x 4 kv heads x 32 dims x 2 bytes = 2 KiB a token).
    EXPECT_EQ(c["kv_type"], "f16");
    EXPECT_EQ(c["capacity_tokens"], (32u << 20) / 2048);
    // One cold request: one look-up, nothing found (no internal walks counted).
    EXPECT_EQ(c["hits"]["lookups"], 1);
    EXPECT_EQ(c["hits"]["matched_tokens"], 0);
    EXPECT_EQ(c["hits"]["hit_rate"], 0.0);
    EXPECT_EQ(c["cached_blocks"], 102 / 16); // its computed full blocks (101 prompt + 1 generated)
    ASSERT_FALSE(c["graph"]["nodes"].empty());
    EXPECT_EQ(c["graph"]["nodes"][0]["tokens"], 96);
    rt::post(s.port(), "/v1/completions", completion(prompt, 2, false));
    c = json::parse(rt::request(s.port(), "GET", "/v1/cache").body);
    EXPECT_EQ(c["hits"]["lookups"], 2);
    EXPECT_EQ(c["hits"]["matched_tokens"], 96);
    const auto f = json::parse(rt::post(s.port(), "/v1/cache/flush", "").body);
    EXPECT_EQ(f["flushed_blocks"], c["cached_blocks"]);
    // The gauges show it at once.
    EXPECT_EQ(s.metric("radixrt_kv_blocks{state=\"cached\"}"), 0);
    EXPECT_EQ(json::parse(rt::request(s.port(), "GET", "/v1/cache").body)["cached_blocks"], 0);
    EXPECT_EQ(cold["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
}
