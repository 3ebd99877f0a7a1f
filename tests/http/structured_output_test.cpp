// Structured outputs over HTTP and WebSocket with the built-in model:
// response_format (json_object, json_schema), llama.cpp's grammar, SGLang's
// regex / json_schema / ebnf; `stop` when the output is complete, `length`
// when max_tokens cuts it; 400s naming the field and the keyword.
#include "http/structured_output.hpp"

#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/http/live_server.hpp"
#include "tests/support/json_schema_validator.hpp"

namespace rt = radixrt::test;
using nlohmann::json;
using rt::live_server;

namespace {

// Properties in non-alphabetical order: the output must keep this order.
const std::string person_schema =
    R"({"type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":10},)"
    R"("age":{"type":"integer","minimum":0,"maximum":120},)"
    R"("pets":{"type":"array","items":{"enum":["cat","dog"]},"maxItems":3}},)"
    R"("required":["name","age","pets"],"additionalProperties":false})";

json post_json(unsigned port, const std::string& target, const std::string& body,
               unsigned status = 200) {
    const auto r = rt::post(port, target, body);
    EXPECT_EQ(r.status, status) << body << " -> " << r.body;
    return json::parse(r.body, nullptr, false);
}

void expect_person(const std::string& text) {
    SCOPED_TRACE(text);
    json v;
    ASSERT_NO_THROW(v = json::parse(text));
    EXPECT_TRUE(rt::validator(json::parse(person_schema)).valid(v));
    EXPECT_LT(text.find("\"name\""), text.find("\"age\"")); // the schema's key order
    EXPECT_LT(text.find("\"age\""), text.find("\"pets\""));
}

} // namespace

TEST(structured_output, chat_json_schema_completes_with_stop) {
    live_server s;
    for (int seed = 0; seed < 4; ++seed) {
        const std::string body =
            R"({"messages":[{"role":"user","content":"A person, please"}],"max_tokens":600,)"
            R"("seed":)" +
            std::to_string(seed) +
            R"(,"response_format":{"type":"json_schema","json_schema":{"name":"person","strict":true,"schema":)" +
            person_schema + "}}}";
        const auto r = post_json(s.port(), "/v1/chat/completions", body);
        EXPECT_EQ(r["choices"][0]["finish_reason"], "stop") << r.dump();
        expect_person(r["choices"][0]["message"]["content"].get<std::string>());
    }
    // Streamed: the deltas join into the same kind of document.
    const auto events = rt::sse_events(
        rt::post(
            s.port(), "/v1/chat/completions",
            R"({"messages":[{"role":"user","content":"x"}],"max_tokens":600,"seed":9,"stream":true,)"
            R"("response_format":{"type":"json_schema","json_schema":{"name":"p","schema":)" +
                person_schema + "}}}")
            .body);
    std::string joined, finish;
    for (const auto& ev : events) {
        if (ev == "[DONE]") {
            continue;
        }
        const auto c = json::parse(ev);
        const auto& ch = c["choices"][0];
        if (ch["delta"].contains("content") && ch["delta"]["content"].is_string()) {
            joined += ch["delta"]["content"].get<std::string>();
        }
        if (ch["finish_reason"].is_string()) {
            finish = ch["finish_reason"];
        }
    }
    EXPECT_EQ(finish, "stop");
    expect_person(joined);
}

TEST(structured_output, max_tokens_cut_says_length) {
    live_server s;
    const auto r =
        post_json(s.port(), "/v1/completions",
                  R"({"prompt":"x","max_tokens":4,"seed":1,)"
                  R"("response_format":{"type":"json_schema","json_schema":{"name":"p","schema":)" +
                      person_schema + "}}}");
    EXPECT_EQ(r["choices"][0]["finish_reason"], "length") << r.dump();
    EXPECT_EQ(r["usage"]["completion_tokens"], 4);
    EXPECT_EQ(r["choices"][0]["text"].get<std::string>().substr(0, 1), "{");
}

TEST(structured_output, grammar_regex_and_sglang_fields) {
    live_server s;
    const auto gbnf = post_json(
        s.port(), "/v1/completions",
        R"({"prompt":"x","max_tokens":50,"seed":3,"n":3,"grammar":"root ::= (\"yes\" | \"no\") \"!\""})");
    for (const auto& c : gbnf["choices"]) {
        EXPECT_TRUE(std::regex_match(c["text"].get<std::string>(), std::regex("(yes|no)!")))
            << c.dump();
        EXPECT_EQ(c["finish_reason"], "stop");
    }
    const auto regex = post_json(
        s.port(), "/generate",
        R"({"text":"x","sampling_params":{"max_new_tokens":50,"seed":4,"regex":"[0-9]{3}-[a-z]{2}"}})");
    EXPECT_TRUE(std::regex_match(regex["text"].get<std::string>(), std::regex("[0-9]{3}-[a-z]{2}")))
        << regex.dump();
    EXPECT_EQ(regex["meta_info"]["finish_reason"]["type"], "stop");
    const auto schema =
        post_json(s.port(), "/generate",
                  json{{"text", "x"},
                       {"sampling_params",
                        {{"max_new_tokens", 600}, {"seed", 5}, {"json_schema", person_schema}}}}
                      .dump());
    expect_person(schema["text"].get<std::string>());
    EXPECT_EQ(schema["meta_info"]["finish_reason"]["type"], "stop");
    const auto ebnf = post_json(
        s.port(), "/generate",
        R"({"text":"x","sampling_params":{"max_new_tokens":50,"ebnf":"root ::= \"a\" [0-9]"}})");
    EXPECT_TRUE(std::regex_match(ebnf["text"].get<std::string>(), std::regex("a[0-9]")));
}

TEST(structured_output, websocket_params_take_the_completion_fields) {
    live_server s;
    rt::ws_client c(s.port());
    c.send(R"({"type":"generate","id":"j","prompt":"x","params":{"max_tokens":600,"seed":2,)"
           R"("response_format":{"type":"json_schema","json_schema":{"name":"p","schema":)" +
           person_schema + "}}}}");
    c.send(
        R"({"type":"generate","id":"bad","prompt":"x","params":{"grammar":"root ::= nothing"}})");
    std::string text, finish;
    json refused;
    while (finish.empty() || refused.is_null()) {
        const auto m = json::parse(c.read());
        if (m["type"] == "token") {
            text += m["text"].get<std::string>();
        } else if (m["type"] == "done") {
            text += m["text"].get<std::string>();
            finish = m["finish_reason"];
        } else {
            refused = m;
        }
    }
    EXPECT_EQ(finish, "stop");
    expect_person(text);
    EXPECT_EQ(refused["id"], "bad");
    EXPECT_EQ(refused["error"]["param"], "params.grammar") << refused.dump();
}

TEST(structured_output, errors_name_the_field_and_keyword) {
    live_server s;
    struct row {
        std::string target, body, param, in_message;
    };
    const std::string chat = "/v1/chat/completions", cmpl = "/v1/completions", gen = "/generate";
    const std::string msgs = R"("messages":[{"role":"user","content":"x"}])";
    const std::vector<row> rows = {
        {chat,
         "{" + msgs +
             R"(,"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object","patternProperties":{}}}}})",
         "response_format.json_schema.schema", "patternProperties"},
        {chat,
         "{" + msgs + R"(,"response_format":{"type":"json_schema","json_schema":{"name":"a"}}})",
         "response_format.json_schema.schema", "required"},
        {chat, "{" + msgs + R"(,"response_format":{"type":"json_schema"}})",
         "response_format.json_schema", "expected"},
        {chat, "{" + msgs + R"(,"response_format":{"type":"xml"}})", "response_format", "type"},
        {chat,
         "{" + msgs + R"(,"grammar":"root ::= \"a\"","response_format":{"type":"json_object"}})",
         "grammar", "only one"},
        {cmpl,
         R"({"prompt":"x","response_format":{"type":"json_schema","json_schema":{"schema":{"type":"string","format":"email"}}}})",
         "response_format.json_schema.schema", "format"},
        {cmpl, R"({"prompt":"x","grammar":"root ::= undefined-rule"})", "grammar",
         "undefined-rule"},
        {cmpl, R"({"prompt":"x","grammar":7})", "grammar", "string"},
        {gen, R"({"text":"x","sampling_params":{"regex":"(?=a)b"}})", "sampling_params.regex",
         "regex"},
        {gen, R"({"text":"x","sampling_params":{"json_schema":"{\"not\":{}}"}})",
         "sampling_params.json_schema", "'not'"},
        {gen, R"({"text":"x","sampling_params":{"json_schema":"{bad json"}})",
         "sampling_params.json_schema", "JSON Schema"},
        {gen, R"({"text":"x","sampling_params":{"ebnf":"root = 'a' ;"}})", "sampling_params.ebnf",
         "grammar"},
        {gen, R"({"text":"x","sampling_params":{"regex":"a","ebnf":"root ::= \"a\""}})",
         "sampling_params.ebnf", "only one"},
    };
    for (const auto& r : rows) {
        const auto j = post_json(s.port(), r.target, r.body, 400);
        EXPECT_EQ(j["error"]["param"], r.param) << r.body << " -> " << j.dump();
        EXPECT_NE(j["error"]["message"].get<std::string>().find(r.in_message), std::string::npos)
            << r.body << " -> " << j.dump();
    }
}
