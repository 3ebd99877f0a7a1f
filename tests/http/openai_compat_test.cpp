// What OpenAI and SGLang clients rely on: log-probabilities in each API's
// shape, and every request field honoured or refused by name.
#include "http/request_fields.hpp"

#include <cmath>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/http/live_server.hpp"

namespace rt = radixrt::test;
using nlohmann::json;
using rt::live_server;

namespace {

const std::string user_msg = R"("messages":[{"role":"user","content":"Tell me a story"}])";

std::string bytes_text(const json& bytes) {
    std::string s;
    for (const auto& b : bytes) {
        s += char(b.get<int>());
    }
    return s;
}

// One chat logprobs.content item: its alternatives sorted, the chosen token
// the most likely one (greedy) with the same logprob, probabilities <= 1.
void check_greedy_entry(const json& e, std::size_t top) {
    ASSERT_EQ(e["top_logprobs"].size(), top);
    EXPECT_LE(e["logprob"].get<double>(), 0.0);
    double mass = 0;
    for (std::size_t k = 0; k < top; ++k) {
        const auto& a = e["top_logprobs"][k];
        mass += std::exp(a["logprob"].get<double>());
        EXPECT_EQ(bytes_text(a["bytes"]).size(), a["bytes"].size());
        if (k > 0) {
            EXPECT_LE(a["logprob"].get<double>(),
                      e["top_logprobs"][k - 1]["logprob"].get<double>());
        }
    }
    EXPECT_LE(mass, 1.0 + 1e-4);
    EXPECT_EQ(e["bytes"], e["top_logprobs"][0]["bytes"]);
    EXPECT_FLOAT_EQ(e["logprob"].get<float>(), e["top_logprobs"][0]["logprob"].get<float>());
}

} // namespace

TEST(openai_compat, chat_logprobs_plain_and_streamed) {
    live_server s;
    const std::string body = "{" + user_msg +
                             R"(,"max_tokens":8,"temperature":0,"ignore_eos":true,)"
                             R"("logprobs":true,"top_logprobs":5)";
    const auto r = json::parse(rt::post(s.port(), "/v1/chat/completions", body + "}").body);
    const auto& content = r["choices"][0]["logprobs"]["content"];
    ASSERT_EQ(content.size(), 8u) << r.dump();
    std::string joined;
    for (const auto& e : content) {
        check_greedy_entry(e, 5);
        joined += bytes_text(e["bytes"]);
    }
    // the tokens' bytes are the message, exactly
    EXPECT_EQ(joined, r["choices"][0]["message"]["content"]);
    EXPECT_TRUE(r["system_fingerprint"].get<std::string>().starts_with("radixrt-"));

    const auto streamed = rt::sse_events(
        rt::post(s.port(), "/v1/chat/completions", body + R"(,"stream":true})").body);
    json items = json::array();
    for (const auto& ev : streamed) {
        if (ev == "[DONE]") {
            continue;
        }
        const auto c = json::parse(ev);
        EXPECT_EQ(c["system_fingerprint"], r["system_fingerprint"]);
        const auto& lp = c["choices"][0]["logprobs"];
        if (!lp.is_null()) {
            for (const auto& e : lp["content"]) {
                items.push_back(e);
            }
        }
    }
    EXPECT_EQ(items, content); // greedy: the same tokens and numbers

    // logprobs without alternatives: an empty top_logprobs list per token
    const auto bare =
        json::parse(rt::post(s.port(), "/v1/chat/completions",
                             "{" + user_msg + R"(,"max_tokens":3,"temperature":0,"logprobs":true})")
                        .body);
    ASSERT_EQ(bare["choices"][0]["logprobs"]["content"].size(), 3u);
    EXPECT_EQ(bare["choices"][0]["logprobs"]["content"][0]["top_logprobs"], json::array());
    EXPECT_TRUE(s.back_to_baseline());
}

TEST(openai_compat, completions_legacy_logprobs) {
    live_server s;
    const auto r =
        json::parse(rt::post(s.port(), "/v1/completions",
                             rt::completion("Once upon a time", 6, false, R"(,"logprobs":3)"))
                        .body);
    const auto& l = r["choices"][0]["logprobs"];
    ASSERT_EQ(l["tokens"].size(), 6u);
    std::size_t offset = 0;
    for (std::size_t i = 0; i < 6; ++i) {
        const auto token = l["tokens"][i].get<std::string>();
        const auto lp = l["token_logprobs"][i].get<double>();
        EXPECT_EQ(l["text_offset"][i], offset);
        offset += token.size();
        const auto& top = l["top_logprobs"][i];
        ASSERT_TRUE(top.is_object());
        EXPECT_GE(top.size(), 1u);
        EXPECT_LE(top.size(), 4u); // the 3 most likely, and the sampled token
        ASSERT_TRUE(top.contains(token));
        EXPECT_FLOAT_EQ(top[token].get<float>(), float(lp));
        for (const auto& [text, v] : top.items()) {
            EXPECT_LE(v.get<double>(), lp + 1e-6) << "greedy: nothing likelier than the token";
        }
    }
    // streamed chunks carry one token each, with the same numbers
    std::vector<double> streamed;
    for (const auto& ev :
         rt::sse_events(rt::post(s.port(), "/v1/completions",
                                 rt::completion("Once upon a time", 6, true, R"(,"logprobs":3)"))
                            .body)) {
        if (ev == "[DONE]") {
            continue;
        }
        const auto chunk = json::parse(ev);
        const auto& lp = chunk["choices"][0]["logprobs"];
        if (!lp.is_null()) {
            ASSERT_EQ(lp["token_logprobs"].size(), 1u);
            EXPECT_EQ(lp["text_offset"][0], l["text_offset"][streamed.size()]);
            streamed.push_back(lp["token_logprobs"][0].get<double>());
        }
    }
    ASSERT_EQ(streamed.size(), 6u);
    for (std::size_t i = 0; i < 6; ++i) {
        EXPECT_DOUBLE_EQ(streamed[i], l["token_logprobs"][i].get<double>());
    }
}

TEST(openai_compat, generate_logprobs_agree_with_a_recomputation) {
    live_server s;
    const auto ids = json::parse(
        rt::post(s.port(), "/tokenize", R"({"text":"The quick brown fox"})").body)["tokens"];
    const auto run = [&](const json& input, int n) {
        return json::parse(
            rt::post(s.port(), "/generate",
                     json{{"input_ids", input},
                          {"return_logprob", true},
                          {"top_logprobs_num", 4},
                          {"return_text_in_logprobs", true},
                          {"sampling_params",
                           {{"max_new_tokens", n}, {"temperature", 0}, {"ignore_eos", true}}}}
                         .dump())
                .body);
    };
    const auto g = run(ids, 6);
    const auto& out = g["meta_info"]["output_token_logprobs"];
    const auto& tops = g["meta_info"]["output_top_logprobs"];
    ASSERT_EQ(out.size(), 6u) << g.dump();
    ASSERT_EQ(tops.size(), 6u);
    for (std::size_t i = 0; i < 6; ++i) {
        EXPECT_EQ(out[i][1], g["output_ids"][i]); // [logprob, token id, text]
        EXPECT_TRUE(out[i][2].is_string());
        ASSERT_EQ(tops[i].size(), 4u);
        EXPECT_EQ(tops[i][0][1], out[i][1]); // greedy: the argmax
        EXPECT_FLOAT_EQ(tops[i][0][0].get<float>(), out[i][0].get<float>());
    }
    // token 4 again, from the prompt + the first 3 generated tokens
    json prefix = ids;
    for (std::size_t i = 0; i < 3; ++i) {
        prefix.push_back(g["output_ids"][i]);
    }
    const auto again = run(prefix, 1)["meta_info"]["output_token_logprobs"];
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0][1], out[3][1]);
    EXPECT_NEAR(again[0][0].get<double>(), out[3][0].get<double>(), 1e-2);
    // without return_text_in_logprobs the text is null, as SGLang's
    const auto plain =
        json::parse(rt::post(s.port(), "/generate",
                             json{{"input_ids", ids},
                                  {"return_logprob", true},
                                  {"sampling_params", {{"max_new_tokens", 2}, {"temperature", 0}}}}
                                 .dump())
                        .body);
    ASSERT_EQ(plain["meta_info"]["output_token_logprobs"].size(), 2u);
    EXPECT_TRUE(plain["meta_info"]["output_token_logprobs"][0][2].is_null());
    EXPECT_FALSE(plain["meta_info"].contains("output_top_logprobs"));
}

TEST(openai_compat, fields_are_honoured_or_refused_by_name) {
    live_server s;
    struct row {
        std::string target, body, param;
    };
    const std::string chat = "/v1/chat/completions", cmpl = "/v1/completions", gen = "/generate";
    const std::vector<row> rows = {
        {chat, "{" + user_msg + R"(,"top_logprobs":2})", "top_logprobs"},
        {chat, "{" + user_msg + R"(,"logprobs":true,"top_logprobs":21})", "top_logprobs"},
        {chat, "{" + user_msg + R"(,"logprobs":1})", "logprobs"},
        {chat, "{" + user_msg + R"(,"foo":1})", "foo"},
        {chat, "{" + user_msg + R"(,"max_tokens":3,"max_completion_tokens":4})",
         "max_completion_tokens"},
        {chat, "{" + user_msg + R"(,"prediction":{"type":"content","content":"x"}})", "prediction"},
        {chat, "{" + user_msg + R"(,"response_format":{"type":"json_schema"}})",
         "response_format.json_schema"},
        {chat, "{" + user_msg + R"(,"tool_choice":"required"})", "tool_choice"},
        {chat, "{" + user_msg + R"(,"stream_options":{"continuous_usage_stats":true}})",
         "stream_options.continuous_usage_stats"},
        {chat,
         R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]})",
         "messages[0].content"},
        {chat,
         R"({"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"input_audio"}]}]})",
         "messages[1].content"},
        {chat, R"({"messages":[{"role":"assistant","content":null,"tool_calls":"x"}]})",
         "messages[0].tool_calls"},
        {chat, R"({"messages":[{"role":"tool","content":"4","tool_call_id":7}]})",
         "messages[0].tool_call_id"},
        {cmpl, R"({"prompt":"x","suffix":"y"})", "suffix"},
        {cmpl, R"({"prompt":"x","best_of":3})", "best_of"},
        {cmpl, R"({"prompt":"x","logprobs":21})", "logprobs"},
        {cmpl, R"({"prompt":"x","bar":true})", "bar"},
        {gen, R"({"text":"x","sampling_params":{"max_tokens":3}})", "sampling_params.max_tokens"},
        {gen, R"({"text":"x","sampling_params":{"regex":"(?!a)b"}})", "sampling_params.regex"},
        {gen, R"({"text":"x","sampling_params":{"grammar":"root ::= x"}})",
         "sampling_params.grammar"},
        {gen, R"({"text":"x","sampling_params":{"json_schema":"{\"not\":{}}"}})",
         "sampling_params.json_schema"},
        {gen, R"({"text":"x","sampling_params":{"foo":1}})", "sampling_params.foo"},
        {gen, R"({"text":"x","sampling_params":{"temperature":9}})", "sampling_params.temperature"},
        {gen, R"({"text":"x","logprob_start_len":0})", "logprob_start_len"},
        {gen, R"({"text":"x","top_logprobs_num":2})", "top_logprobs_num"},
        {gen, R"({"text":"x","rid":"abc"})", "rid"},
    };
    for (const auto& r : rows) {
        const auto got = rt::post(s.port(), r.target, r.body);
        EXPECT_EQ(got.status, 400u) << r.body;
        const auto j = json::parse(got.body, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << got.body;
        EXPECT_EQ(j["error"]["param"], r.param) << r.body << " -> " << got.body;
        EXPECT_TRUE(j["error"]["message"].is_string());
    }
    // accepted: fields SDKs send on their own (ignored), and what is honoured
    const std::vector<row> ok = {
        {chat,
         "{" + user_msg +
             R"(,"max_tokens":2,"user":"u","metadata":{"a":"b"},"store":false,)"
             R"("service_tier":"auto","parallel_tool_calls":true,"response_format":{"type":"text"},)"
             R"("tool_choice":"auto","stream_options":{"include_usage":true}})",
         ""},
        {chat, "{" + user_msg + R"(,"max_tokens":2,"tool_choice":"none"})", ""},
        {chat, "{" + user_msg + R"(,"max_tokens":2,"response_format":{"type":"json_object"}})", ""},
        {gen, R"({"text":"x","sampling_params":{"max_new_tokens":2,"regex":"a+"}})", ""},
        {cmpl, R"({"prompt":"x","max_tokens":2,"best_of":2,"n":2,"suffix":null,"user":"u"})", ""},
        {gen,
         R"({"text":"x","return_logprob":true,"logprob_start_len":-1,"sampling_params":{"max_new_tokens":2}})",
         ""},
    };
    for (const auto& r : ok) {
        const auto got = rt::post(s.port(), r.target, r.body);
        EXPECT_EQ(got.status, 200u) << r.body << " -> " << got.body;
    }
    // a null max_completion_tokens leaves max_tokens in force
    const auto limited = json::parse(
        rt::post(s.port(), chat,
                 "{" + user_msg +
                     R"(,"max_tokens":2,"max_completion_tokens":null,"ignore_eos":true})")
            .body);
    EXPECT_EQ(limited["usage"]["completion_tokens"], 2) << limited.dump();
    EXPECT_TRUE(s.back_to_baseline());
}

TEST(openai_compat, seeds_and_created) {
    live_server s;
    const auto text = [&](const std::string& extra) {
        const auto r = json::parse(rt::post(s.port(), "/v1/completions",
                                            R"({"prompt":"Once","max_tokens":12,"temperature":2,)"
                                            R"("ignore_eos":true)" +
                                                extra + "}")
                                       .body);
        EXPECT_GT(r["created"].get<std::int64_t>(), 1700000000); // a time, not zero
        return r["choices"][0]["text"].get<std::string>();
    };
    EXPECT_EQ(text(R"(,"seed":7)"), text(R"(,"seed":7)"));
    // no seed: each request draws its own (four equal samples would be a default seed)
    const auto first = text("");
    bool differ = false;
    for (int i = 0; i < 3 && !differ; ++i) {
        differ = text("") != first;
    }
    EXPECT_TRUE(differ);
}

TEST(openai_compat, websocket_logprobs_and_unknown_fields) {
    live_server s;
    rt::ws_client ws(s.port());
    ws.send(R"({"type":"generate","id":5,"prompt":"Once","params":{"max_tokens":3,)"
            R"("temperature":0,"ignore_eos":true,"logprobs":true,"top_logprobs":2}})");
    std::size_t tokens = 0;
    for (;;) {
        const auto ev = json::parse(ws.read());
        EXPECT_EQ(ev["id"], 5); // an integer stays an integer
        if (ev["type"] == "done") {
            break;
        }
        ASSERT_EQ(ev["type"], "token") << ev.dump();
        ASSERT_EQ(ev["top_logprobs"].size(), 2u);
        EXPECT_EQ(ev["top_logprobs"][0]["token_id"], ev["token_id"]);
        EXPECT_FLOAT_EQ(ev["top_logprobs"][0]["logprob"].get<float>(), ev["logprob"].get<float>());
        ++tokens;
    }
    EXPECT_EQ(tokens, 3u);
    for (const auto& [msg, param] : std::vector<std::pair<std::string, std::string>>{
             {R"({"type":"generate","id":"a","prompt":"x","params":{"foo":1}})", "params.foo"},
             {R"({"type":"generate","id":"b","prompt":"x","extra":1})", "extra"},
             {R"({"type":"cancel","id":"b","reason":"x"})", "reason"},
             {R"({"type":"generate","id":"c","prompt":"x","params":{"top_logprobs":1}})",
              "params.top_logprobs"},
             {R"({"type":"generate","id":"d","prompt":"x","params":{"temperature":-1}})",
              "params.temperature"}}) {
        ws.send(msg);
        const auto ev = json::parse(ws.read());
        EXPECT_EQ(ev["type"], "error") << msg;
        EXPECT_EQ(ev["error"]["param"], param) << ev.dump();
    }
}

TEST(openai_compat, model_by_id_head_and_tokenize_spellings) {
    live_server s;
    const auto m = rt::request(s.port(), "GET", "/v1/models/radixrt-builtin");
    EXPECT_EQ(m.status, 200u);
    EXPECT_EQ(json::parse(m.body)["id"], "radixrt-builtin");
    const auto missing = rt::request(s.port(), "GET", "/v1/models/gpt-9");
    EXPECT_EQ(missing.status, 404u);
    EXPECT_EQ(json::parse(missing.body)["error"]["code"], "model_not_found");
    EXPECT_EQ(json::parse(missing.body)["error"]["param"], "model");

    // HEAD: GET's status and headers, no body
    const auto get = rt::request(s.port(), "GET", "/v1/models");
    const auto head =
        rt::raw(s.port(), "HEAD /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                std::chrono::seconds(30));
    EXPECT_TRUE(head.starts_with("HTTP/1.1 200")) << head;
    EXPECT_NE(head.find("Content-Length: " + std::to_string(get.body.size()) + "\r\n"),
              std::string::npos)
        << head;
    EXPECT_TRUE(head.ends_with("\r\n\r\n")) << head;
    EXPECT_TRUE(rt::raw(s.port(),
                        "HEAD /v1/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        std::chrono::seconds(30))
                    .starts_with("HTTP/1.1 405"));

    const auto tokens = [&](const std::string& body) {
        const auto r = rt::post(s.port(), "/tokenize", body);
        EXPECT_EQ(r.status, 200u) << body << " -> " << r.body;
        return json::parse(r.body)["tokens"];
    };
    const auto with = tokens(R"({"text":"hello there"})");
    const auto without = tokens(R"({"text":"hello there","add_special_tokens":false})");
    EXPECT_EQ(tokens(R"({"prompt":"hello there"})"), with);  // vLLM
    EXPECT_EQ(tokens(R"({"content":"hello there"})"), with); // llama.cpp
    EXPECT_EQ(tokens(R"({"content":"hello there","add_special":false})"), without);
    EXPECT_EQ(tokens(R"({"prompt":"hello there","add_special_tokens":false})"), without);
    const auto bad = rt::post(s.port(), "/tokenize", R"({"text":"x","with_pieces":true})");
    EXPECT_EQ(bad.status, 400u);
    EXPECT_EQ(json::parse(bad.body)["error"]["param"], "with_pieces");
}

TEST(openai_compat, sglang_server_endpoints) {
    live_server s;
    const auto info = json::parse(rt::request(s.port(), "GET", "/get_model_info").body);
    EXPECT_EQ(info["is_generation"], true);
    EXPECT_GT(info["context_length"].get<int>(), 0);
    const auto server = json::parse(rt::request(s.port(), "GET", "/get_server_info").body);
    EXPECT_GT(server["max_total_num_tokens"].get<int>(), 0);
    EXPECT_EQ(server["served_model_name"], "radixrt-builtin");
    EXPECT_EQ(server.dump().find("api_key"), std::string::npos);

    const auto h = rt::request(s.port(), "GET", "/health_generate");
    EXPECT_EQ(h.status, 200u) << h.body;
    EXPECT_GE(s.metric(R"(radixrt_requests_total{endpoint="/health_generate",outcome="200"})"),
              1.0);

    // a cached prompt, then /flush_cache frees its blocks
    ASSERT_EQ(rt::post(s.port(), "/v1/completions", rt::completion(std::string(100, 'a'), 1, false))
                  .status,
              200u);
    ASSERT_TRUE(s.back_to_baseline());
    EXPECT_GT(s.server().api()->current_engine()->stats().kv_blocks_cached, 0u);
    const auto f = rt::post(s.port(), "/flush_cache", "");
    EXPECT_EQ(f.status, 200u) << f.body;
    EXPECT_GT(json::parse(f.body)["flushed_blocks"].get<int>(), 0);
    EXPECT_EQ(s.server().api()->current_engine()->stats().kv_blocks_cached, 0u);
}

TEST(openai_compat, websocket_cancel_and_close_count_as_cancelled) {
    live_server s;
    const std::string cancelled =
        R"(radixrt_requests_total{endpoint="/v1/ws",outcome="cancelled"})";
    const std::string e2e = "radixrt_e2e_request_latency_seconds_count";
    const double e2e_before = s.metric(e2e);
    {
        rt::ws_client ws(s.port());
        const auto start = [&](const std::string& id) {
            ws.send(R"({"type":"generate","id":")" + id +
                    R"(","prompt":"Once","params":{"max_tokens":1500,"ignore_eos":true}})");
        };
        start("cancel-me");
        EXPECT_EQ(json::parse(ws.read())["type"], "token"); // it runs
        ws.send(R"({"type":"cancel","id":"cancel-me"})");
        for (;;) {
            const auto ev = json::parse(ws.read());
            if (ev["type"] == "done") {
                EXPECT_EQ(ev["finish_reason"], "cancelled");
                break;
            }
        }
        start("closed-on");
        EXPECT_EQ(json::parse(ws.read())["type"], "token");
    } // the socket closes with "closed-on" running
    ASSERT_TRUE(s.back_to_baseline());
    EXPECT_TRUE(rt::wait_until([&] { return s.metric(cancelled) == 2; })) << s.metric(cancelled);
    EXPECT_TRUE(rt::wait_until([&] { return s.metric(e2e) >= e2e_before + 2; }));
}
