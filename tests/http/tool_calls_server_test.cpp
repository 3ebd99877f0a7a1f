// Tool calls through /v1/chat/completions on the built-in model (its own
// ChatML template with Hermes-style calls): forced calls always parse and
// satisfy the tool's schema (checked by an independent validator), streamed
// deltas assemble to the same calls as the SDKs assemble them, tool_choice
// auto starts the grammar only when the model starts a call, history
// arguments reach templates the way they want them, and every tool field is
// honoured or refused by name.
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/http/live_server.hpp"
#include "tests/jinja/oracle.hpp"
#include "tests/support/json_schema_validator.hpp"

namespace rt = radixrt::test;
using nlohmann::json;
using rt::live_server;

namespace {

const json weather_schema = json::parse(R"({"type": "object",
    "properties": {"city": {"type": "string", "maxLength": 12},
                   "unit": {"enum": ["celsius", "fahrenheit"]},
                   "days": {"type": "integer", "minimum": 1, "maximum": 7}},
    "required": ["city", "unit"], "additionalProperties": false})");
const json time_schema = json::parse(R"({"type": "object",
    "properties": {"zone": {"type": "string", "pattern": "^[A-Z]{3}$"}},
    "required": ["zone"], "additionalProperties": false})");

json tools() {
    return json::array(
        {{{"type", "function"},
          {"function",
           {{"name", "get_weather"}, {"description", "Weather"}, {"parameters", weather_schema}}}},
         {{"type", "function"},
          {"function", {{"name", "get_time"}, {"parameters", time_schema}}}}});
}

json chat_body(json extra) {
    json b = {{"messages", json::array({{{"role", "user"}, {"content", "Weather in Oslo?"}}})},
              {"max_tokens", 400},
              {"tools", tools()}};
    for (auto& [k, v] : extra.items()) {
        b[k] = v;
    }
    return b;
}

json post_chat(unsigned port, const json& body, unsigned expect = 200) {
    const auto r = rt::post(port, "/v1/chat/completions", body.dump());
    EXPECT_EQ(r.status, expect) << r.body;
    return json::parse(r.body, nullptr, false);
}

// The arguments parse and validate against the named tool's schema.
void expect_valid_call(const json& call, const std::string& name_wanted = "") {
    ASSERT_EQ(call["type"], "function");
    ASSERT_TRUE(call["id"].is_string());
    const std::string name = call["function"]["name"];
    if (!name_wanted.empty()) {
        EXPECT_EQ(name, name_wanted);
    }
    ASSERT_TRUE(name == "get_weather" || name == "get_time") << name;
    const auto args = json::parse(call["function"]["arguments"].get<std::string>(), nullptr, false);
    ASSERT_FALSE(args.is_discarded()) << call.dump();
    EXPECT_TRUE(rt::validator(name == "get_weather" ? weather_schema : time_schema).valid(args))
        << args.dump();
}

// Assembles streamed deltas as the OpenAI SDKs do (by index: id, type and
// name from the first fragment, arguments concatenated).
json assemble(const std::string& sse, std::string& finish, std::string& content,
              std::size_t choice = 0) {
    json calls = json::array();
    for (const auto& ev : rt::sse_events(sse)) {
        if (ev == "[DONE]") {
            continue;
        }
        const auto chunk = json::parse(ev);
        if (chunk["choices"].empty() || chunk["choices"][0]["index"] != choice) {
            continue; // another choice's chunk (n > 1), or the usage chunk
        }
        const auto c = chunk["choices"][0];
        const auto& d = c["delta"];
        if (d.contains("content") && d["content"].is_string()) {
            content += d["content"].get<std::string>();
        }
        for (const auto& t : d.value("tool_calls", json::array())) {
            const std::size_t i = t["index"];
            if (i == calls.size()) {
                EXPECT_TRUE(t.contains("id") && t["function"].contains("name")) << t.dump();
                calls.push_back(
                    {{"id", t["id"]},
                     {"type", t["type"]},
                     {"function", {{"name", t["function"]["name"]}, {"arguments", ""}}}});
            }
            if (i >= calls.size()) {
                ADD_FAILURE() << "a fragment of call " << i << " before its first";
                return calls;
            }
            auto& a = calls[i]["function"]["arguments"];
            a = a.get<std::string>() + t["function"].value("arguments", "");
        }
        if (!c["finish_reason"].is_null()) {
            finish = c["finish_reason"];
        }
    }
    return calls;
}

TEST(tool_calls_server, required_calls_always_parse_and_satisfy_the_schema) {
    live_server s;
    for (int seed = 0; seed < 12; ++seed) {
        SCOPED_TRACE(seed);
        const auto r = post_chat(s.port(), chat_body({{"tool_choice", "required"},
                                                      {"parallel_tool_calls", false},
                                                      {"temperature", 1.0},
                                                      {"seed", seed}}));
        const auto& choice = r["choices"][0];
        ASSERT_EQ(choice["finish_reason"], "tool_calls") << r.dump();
        EXPECT_TRUE(choice["message"]["content"].is_null());
        ASSERT_EQ(choice["message"]["tool_calls"].size(), 1u);
        expect_valid_call(choice["message"]["tool_calls"][0]);
    }
    EXPECT_TRUE(s.back_to_baseline());
}

TEST(tool_calls_server, a_named_tool_and_parallel_calls) {
    live_server s;
    for (int seed = 0; seed < 6; ++seed) {
        const auto r = post_chat(
            s.port(), chat_body({{"tool_choice",
                                  {{"type", "function"}, {"function", {{"name", "get_time"}}}}},
                                 {"temperature", 1.0},
                                 {"seed", seed},
                                 {"max_tokens", 300}}));
        const auto& choice = r["choices"][0];
        const auto& calls = choice["message"]["tool_calls"];
        ASSERT_GE(calls.size(), 1u) << r.dump();
        // Parallel calls allowed: the random model may go on calling until max_tokens.
        for (std::size_t i = 0; i + (choice["finish_reason"] == "length" ? 1 : 0) < calls.size();
             ++i) {
            expect_valid_call(calls[i], "get_time");
        }
        std::set<std::string> ids;
        for (const auto& c : calls) {
            ids.insert(c["id"].get<std::string>());
        }
        EXPECT_EQ(ids.size(), calls.size()) << "call ids are unique";
    }
}

TEST(tool_calls_server, streamed_calls_assemble_to_the_same_calls) {
    live_server s;
    for (int seed = 0; seed < 6; ++seed) {
        const json body = chat_body({{"tool_choice", "required"},
                                     {"parallel_tool_calls", false},
                                     {"temperature", 1.0},
                                     {"seed", seed}});
        const auto whole = post_chat(s.port(), body)["choices"][0];
        json streamed_body = body;
        streamed_body["stream"] = true;
        const auto r = rt::post(s.port(), "/v1/chat/completions", streamed_body.dump());
        ASSERT_EQ(r.status, 200u);
        std::string finish, content;
        const auto calls = assemble(r.body, finish, content);
        EXPECT_EQ(finish, "tool_calls");
        EXPECT_EQ(content, "");
        ASSERT_EQ(calls.size(), 1u);
        expect_valid_call(calls[0]);
        // Same seed, same tokens: the same call (ids are drawn per response).
        EXPECT_EQ(calls[0]["function"], whole["message"]["tool_calls"][0]["function"]);
    }
}

// n > 1: each choice has its own grammar state and its own stream parser.
TEST(tool_calls_server, several_choices_each_call) {
    live_server s;
    const json body = chat_body({{"tool_choice", "required"},
                                 {"parallel_tool_calls", false},
                                 {"temperature", 1.0},
                                 {"seed", 3},
                                 {"n", 3}});
    const auto r = post_chat(s.port(), body);
    ASSERT_EQ(r["choices"].size(), 3u);
    for (const auto& c : r["choices"]) {
        ASSERT_EQ(c["finish_reason"], "tool_calls") << c.dump();
        ASSERT_EQ(c["message"]["tool_calls"].size(), 1u);
        expect_valid_call(c["message"]["tool_calls"][0]);
    }
    json streamed = body;
    streamed["stream"] = true;
    const auto sse = rt::post(s.port(), "/v1/chat/completions", streamed.dump()).body;
    for (std::size_t i = 0; i < 3; ++i) {
        std::string finish, content;
        const auto calls = assemble(sse, finish, content, i);
        EXPECT_EQ(finish, "tool_calls") << i;
        ASSERT_EQ(calls.size(), 1u) << i;
        EXPECT_EQ(calls[0]["function"], r["choices"][i]["message"]["tool_calls"][0]["function"]);
    }
}

TEST(tool_calls_server, auto_is_free_text_until_the_model_starts_a_call) {
    live_server s;
    // Greedy, the random model never picks the tag (its output row is zero): content.
    auto r = post_chat(s.port(), chat_body({{"temperature", 0}, {"max_tokens", 24}}));
    auto choice = r["choices"][0];
    EXPECT_NE(choice["finish_reason"], "tool_calls");
    EXPECT_FALSE(choice["message"].contains("tool_calls"));
    EXPECT_FALSE(choice["message"]["content"].get<std::string>().empty());
    // Pushed to open a call with logit_bias, it must finish a valid one.
    const auto tag =
        rt::post(s.port(), "/tokenize",
                 R"({"text": "<tool_call>", "add_special": false, "parse_special": true})");
    const auto tag_ids = json::parse(tag.body)["tokens"];
    ASSERT_EQ(tag_ids.size(), 1u) << tag.body; // one user-defined token
    const std::string id = std::to_string(tag_ids[0].get<int>());
    for (int seed = 0; seed < 6; ++seed) {
        r = post_chat(s.port(), chat_body({{"temperature", 1.0},
                                           {"seed", seed},
                                           {"parallel_tool_calls", false},
                                           {"logit_bias", {{id, 100}}}}));
        choice = r["choices"][0];
        ASSERT_EQ(choice["finish_reason"], "tool_calls") << r.dump();
        ASSERT_EQ(choice["message"]["tool_calls"].size(), 1u);
        expect_valid_call(choice["message"]["tool_calls"][0]);
    }
}

TEST(tool_calls_server, tool_choice_none_shows_the_tools_but_parses_no_calls) {
    live_server s;
    auto with = rt::post(s.port(), "/apply_chat_template",
                         json{{"messages", chat_body({})["messages"]}, {"tools", tools()}}.dump());
    EXPECT_NE(json::parse(with.body)["prompt"].get<std::string>().find("get_weather"),
              std::string::npos);
    const auto tag = json::parse(
        rt::post(s.port(), "/tokenize",
                 R"({"text": "<tool_call>", "parse_special": true, "add_special": false})")
            .body)["tokens"][0];
    const auto r =
        post_chat(s.port(), chat_body({{"tool_choice", "none"},
                                       {"max_tokens", 8},
                                       {"logit_bias", {{std::to_string(tag.get<int>()), 100}}}}));
    const auto& m = r["choices"][0]["message"];
    EXPECT_FALSE(m.contains("tool_calls"));
    EXPECT_EQ(m["content"].get<std::string>().rfind("<tool_call>", 0), 0u) << m.dump();
}

TEST(tool_calls_server, every_tool_field_is_honoured_or_refused_by_name) {
    live_server s;
    struct row {
        json extra;
        std::string param;
    };
    const json f = {{"type", "function"}, {"function", {{"name", "f"}}}};
    const std::vector<row> rows = {
        {{{"tools", "x"}}, "tools"},
        {{{"tools", json::array({{{"type", "retrieval"}}})}}, "tools[0].type"},
        {{{"tools", json::array({{{"type", "function"}, {"function", {{"name", "a b"}}}}})}},
         "tools[0].function.name"},
        {{{"tools", json::array({f, f})}}, "tools[1].function.name"},
        {{{"tools",
           json::array({{{"type", "function"}, {"function", {{"name", "f"}, {"x", 1}}}}})}},
         "tools[0].function.x"},
        {{{"tools", json::array({{{"type", "function"},
                                  {"function",
                                   {{"name", "f"}, {"parameters", {{"not", json::object()}}}}}}})},
          {"tool_choice", "required"}},
         "tools[0].function.parameters"},
        {{{"tool_choice", "always"}}, "tool_choice"},
        {{{"tool_choice", {{"type", "function"}, {"function", {{"name", "nope"}}}}}},
         "tool_choice.function.name"},
        {{{"parallel_tool_calls", "yes"}}, "parallel_tool_calls"},
        {{{"response_format", {{"type", "json_object"}}}}, "response_format"},
        {{{"grammar", "root ::= \"x\""}}, "grammar"},
    };
    for (const auto& r : rows) {
        const auto j = post_chat(s.port(), chat_body(r.extra), 400);
        EXPECT_EQ(j["error"]["param"], r.param) << r.extra.dump() << " -> " << j.dump();
    }
    json no_tools = chat_body({{"tool_choice", "required"}});
    no_tools.erase("tools");
    EXPECT_EQ(post_chat(s.port(), no_tools, 400)["error"]["param"], "tool_choice");
    // With tool_choice none, structured output and tools go together.
    const auto ok =
        post_chat(s.port(), chat_body({{"tool_choice", "none"},
                                       {"max_tokens", 40},
                                       {"response_format", {{"type", "json_object"}}}}));
    EXPECT_EQ(ok["choices"][0]["message"]["content"].get<std::string>().rfind("{", 0), 0u);
}

// A template without a call syntax radixrt reads: tools are refused unless
// tool_choice is none (then only shown).
TEST(tool_calls_server, templates_without_a_call_syntax) {
    auto cfg = live_server::base_config();
    cfg.chat_template =
        std::string(RADIXRT_TESTDATA_DIR) + "/templates/microsoft-Phi-3.5-mini-instruct.jinja";
    live_server s(cfg);
    EXPECT_EQ(post_chat(s.port(), chat_body({}), 400)["error"]["param"], "tools");
    post_chat(s.port(), chat_body({{"tool_choice", "none"}, {"max_tokens", 4}}));
}

// Qwen2.5's template writes arguments with tojson: OpenAI's JSON-string
// arguments reach it as objects, rendered as jinja2 renders the objects.
TEST(tool_calls_server, history_arguments_as_the_template_wants_them) {
    auto cfg = live_server::base_config();
    cfg.chat_template =
        std::string(RADIXRT_TESTDATA_DIR) + "/templates/Qwen-Qwen2.5-7B-Instruct.jinja";
    live_server s(cfg);
    const json call = {
        {"id", "call_1"},
        {"type", "function"},
        {"function", {{"name", "get_weather"}, {"arguments", "{\"city\": \"Oslo\"}"}}}};
    const json messages =
        json::array({{{"role", "user"}, {"content", "Weather?"}},
                     {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", {call}}},
                     {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "-3"}}});
    const auto got =
        rt::post(s.port(), "/apply_chat_template", json{{"messages", messages}}.dump());
    ASSERT_EQ(got.status, 200u) << got.body;
    json as_objects = messages;
    as_objects[1]["tool_calls"][0]["function"]["arguments"] = {{"city", "Oslo"}};
    const auto& model = s.server().api()->current_engine()->model();
    std::ifstream f(cfg.chat_template);
    std::stringstream text;
    text << f.rdbuf();
    const auto expected = radixrt::jinja::test::run_oracle({{"template", text.str()},
                                                            {"context",
                                                             {{"messages", as_objects},
                                                              {"add_generation_prompt", true},
                                                              {"bos_token", model.bos_text},
                                                              {"eos_token", model.eos_text}}}});
    ASSERT_TRUE(expected["ok"].get<bool>()) << expected.dump();
    EXPECT_EQ(json::parse(got.body)["prompt"].get<std::string>(),
              expected["text"].get<std::string>());
    EXPECT_NE(expected["text"].get<std::string>().find("{\"city\": \"Oslo\"}"), std::string::npos);
}

} // namespace
