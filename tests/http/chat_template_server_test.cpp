// Chat templates at the HTTP edge: /apply_chat_template, chat completions
// rendered by a Jinja template (from a file or the request), template errors
// as 400s, chat_template_kwargs, and BOS written once.
#include "http/server.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/http/live_server.hpp"
#include "tests/jinja/oracle.hpp"

namespace rh = radixrt::http;
namespace rt = radixrt::test;
using nlohmann::json;
using rt::live_server;

namespace {

const std::string testdata_templates = std::string(RADIXRT_TESTDATA_DIR) + "/templates/";

// A ChatML template with tools and a kwarg, written to a temporary file.
const char* chatml_tools = R"({{ bos_token }}{% for m in messages %}<|im_start|>{{ m.role }}
{% if m.tool_calls is defined %}{% for c in m.tool_calls %}{{ c.function.name }}{{ c.function.arguments | tojson }}{% endfor %}{% else %}{{ m.content }}{% endif %}<|im_end|>
{% endfor %}{% if tools %}tools={{ tools | map(attribute='function.name') | join(',') }}
{% endif %}{% if enable_thinking is defined %}thinking={{ enable_thinking }}
{% endif %}{% if add_generation_prompt %}<|im_start|>assistant
{% endif %})";

std::string write_temp(const std::string& name, const std::string& text) {
    const auto path = std::filesystem::temp_directory_path() / name;
    std::ofstream(path) << text;
    return path.string();
}

json post_json(unsigned port, const std::string& target, const json& body,
               unsigned* status = nullptr) {
    const auto r = rt::post(port, target, body.dump());
    if (status != nullptr) {
        *status = r.status;
    }
    return json::parse(r.body);
}

} // namespace

TEST(server_chat_template, apply_chat_template_with_the_default_and_a_request_template) {
    live_server s; // the built-in model's own template, as Python's jinja2 renders it
    const json msgs = json::array({{{"role", "user"}, {"content", "Hi"}}});
    unsigned status = 0;
    auto r = post_json(s.port(), "/apply_chat_template", {{"messages", msgs}}, &status);
    EXPECT_EQ(status, 200u);
    const auto& model = s.server().api()->current_engine()->model();
    ASSERT_FALSE(model.chat_template.empty());
    const auto want = radixrt::jinja::test::run_oracle({{"template", model.chat_template},
                                                        {"context",
                                                         {{"messages", msgs},
                                                          {"add_generation_prompt", true},
                                                          {"bos_token", model.bos_text},
                                                          {"eos_token", model.eos_text}}}});
    ASSERT_TRUE(want.is_object() && want["ok"].get<bool>()) << want.dump();
    EXPECT_EQ(r["prompt"], want["text"].get<std::string>());

    const json body = {{"messages", msgs},
                       {"add_generation_prompt", false},
                       {"chat_template",
                        "{{ bos_token }}[{{ messages[0].content | upper }}]{{ eos_token }}{{ x }}"},
                       {"chat_template_kwargs", {{"x", 7}}}};
    r = post_json(s.port(), "/apply_chat_template", body, &status);
    EXPECT_EQ(status, 200u);
    const auto& info = s.server().api()->current_engine()->model();
    EXPECT_EQ(r["prompt"], info.bos_text + "[HI]" + info.eos_text + "7");
}

TEST(server_chat_template, every_field_is_honoured_or_named_in_a_400) {
    live_server s;
    const json msgs = json::array({{{"role", "user"}, {"content", "Hi"}}});
    struct row {
        json body;
        std::string param;
    };
    const std::vector<row> rows = {
        {{{"messages", msgs}, {"temperature", 1}}, "temperature"},
        {{{"messages", msgs}, {"tools", "x"}}, "tools"},
        {{{"messages", msgs}, {"chat_template_kwargs", 3}}, "chat_template_kwargs"},
        {{{"messages", msgs}, {"chat_template_kwargs", {{"messages", 1}}}}, "chat_template_kwargs"},
        {{{"messages", msgs}, {"add_generation_prompt", "yes"}}, "add_generation_prompt"},
        {{{"messages", msgs}, {"chat_template", "{% if %}"}}, "chat_template"},
        {{{"messages", msgs}, {"chat_template", 5}}, "chat_template"},
        {{{"messages", 5}}, "messages"},
    };
    for (const auto& row : rows) {
        SCOPED_TRACE(row.body.dump());
        unsigned status = 0;
        const auto r = post_json(s.port(), "/apply_chat_template", row.body, &status);
        EXPECT_EQ(status, 400u);
        EXPECT_EQ(r["error"]["param"], row.param);
    }
    unsigned status = 0;
    const auto r =
        post_json(s.port(), "/v1/chat/completions",
                  {{"messages", msgs}, {"chat_template_kwargs", json::array()}}, &status);
    EXPECT_EQ(status, 400u);
    EXPECT_EQ(r["error"]["param"], "chat_template_kwargs");
}

TEST(server_chat_template, template_refusals_are_400s_with_the_template_message) {
    auto cfg = live_server::base_config();
    cfg.chat_template = testdata_templates + "google-gemma-2-2b-it.jinja";
    live_server s(cfg);
    const json msgs = json::array(
        {{{"role", "system"}, {"content", "Be brief"}}, {{"role", "user"}, {"content", "Hi"}}});
    for (const char* target : {"/apply_chat_template", "/v1/chat/completions"}) {
        unsigned status = 0;
        const auto r =
            post_json(s.port(), target, {{"messages", msgs}, {"max_tokens", 2}}, &status);
        if (std::string(target) == "/apply_chat_template") {
            // max_tokens is not a field of /apply_chat_template
            EXPECT_EQ(status, 400u);
            EXPECT_EQ(r["error"]["param"], "max_tokens");
            continue;
        }
        EXPECT_EQ(status, 400u) << r.dump();
        EXPECT_EQ(r["error"]["message"], "System role not supported");
    }
    unsigned status = 0;
    const auto ok = post_json(s.port(), "/apply_chat_template",
                              {{"messages", json::array({msgs[1]})}}, &status);
    EXPECT_EQ(status, 200u);
    const auto& info = s.server().api()->current_engine()->model();
    EXPECT_EQ(ok["prompt"],
              info.bos_text + "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
}

TEST(server_chat_template, chat_renders_tools_and_kwargs_from_a_template_file) {
    auto cfg = live_server::base_config();
    cfg.chat_template = write_temp("radixrt_chatml_tools.jinja", chatml_tools);
    live_server s(cfg);
    const json msgs = json::parse(R"([
      {"role": "user", "content": "Weather?"},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
        "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "sunny"}])");
    const json tools =
        json::parse(R"([{"type": "function", "function": {"name": "get_weather"}}])");
    unsigned status = 0;
    const auto r = post_json(s.port(), "/apply_chat_template",
                             {{"messages", msgs},
                              {"tools", tools},
                              {"chat_template_kwargs", {{"enable_thinking", false}}}},
                             &status);
    ASSERT_EQ(status, 200u) << r.dump();
    const auto& info = s.server().api()->current_engine()->model();
    EXPECT_EQ(r["prompt"],
              info.bos_text +
                  "<|im_start|>user\nWeather?<|im_end|>\n"
                  "<|im_start|>assistant\nget_weather{\"city\": \"Paris\", \"days\": 2}<|im_end|>\n"
                  "<|im_start|>tool\nsunny<|im_end|>\n"
                  "tools=get_weather\nthinking=False\n<|im_start|>assistant\n");
    // This template shows tools but writes no call syntax radixrt reads:
    // with tool_choice none the tools are only shown (otherwise a 400).
    const auto c = post_json(s.port(), "/v1/chat/completions",
                             {{"messages", msgs},
                              {"tools", tools},
                              {"tool_choice", "none"},
                              {"max_tokens", 2},
                              {"temperature", 0},
                              {"chat_template_kwargs", {{"enable_thinking", true}}}},
                             &status);
    EXPECT_EQ(status, 200u) << c.dump();
    EXPECT_EQ(c["object"], "chat.completion");
}

TEST(server_chat_template, bos_written_by_the_template_is_not_doubled) {
    auto cfg = live_server::base_config();
    cfg.chat_template = write_temp("radixrt_bos.jinja", "{{ bos_token }}{{ messages[0].content }}");
    live_server s(cfg);
    const auto& info = s.server().api()->current_engine()->model();
    ASSERT_FALSE(info.bos_text.empty());
    const auto chat =
        post_json(s.port(), "/v1/chat/completions",
                  {{"messages", json::array({{{"role", "user"}, {"content", "Hello there"}}})},
                   {"max_tokens", 1}});
    // /tokenize adds the model's BOS to plain text once: the same count.
    const auto tok = post_json(s.port(), "/tokenize", {{"text", "Hello there"}});
    const std::size_t with_bos =
        info.add_bos ? tok["count"].get<std::size_t>() : tok["count"].get<std::size_t>() + 1;
    EXPECT_EQ(chat["usage"]["prompt_tokens"].get<std::size_t>(), with_bos);
}

TEST(server_chat_template, a_bad_template_file_fails_the_load) {
    rh::server_config cfg = live_server::base_config();
    cfg.port = 0;
    cfg.chat_template = write_temp("radixrt_bad.jinja", "{% for %}");
    rh::server srv(cfg);
    std::atomic<int> loaded{0};
    std::string message;
    srv.start([&](bool ok, const std::string& m) {
        message = m;
        loaded = ok ? 1 : 2;
    });
    ASSERT_TRUE(rt::wait_until([&] { return loaded != 0; }));
    EXPECT_EQ(loaded, 2);
    EXPECT_NE(message.find("does not parse"), std::string::npos) << message;
    EXPECT_FALSE(srv.api()->ready());
}

// Any client can send a template: endless or huge ones end in a 400 naming
// the limit, and the server goes on answering.
TEST(server_chat_template, a_request_template_runs_under_a_budget) {
    live_server s;
    const json msgs = json::array({{{"role", "user"}, {"content", "Hi"}}});
    unsigned status = 0;
    for (const char* tmpl : {"{% for i in range(100000) %}{% for j in range(100000) %}{% endfor "
                             "%}{% endfor %}",
                             "{% for i in range(3000) %}{{ 'x' * 1000 }}{% endfor %}"}) {
        const auto r = post_json(s.port(), "/apply_chat_template",
                                 {{"messages", msgs}, {"chat_template", tmpl}}, &status);
        EXPECT_EQ(status, 400u) << tmpl;
        EXPECT_NE(r.dump().find("chat template"), std::string::npos) << r.dump();
    }
    post_json(s.port(), "/apply_chat_template", {{"messages", msgs}}, &status);
    EXPECT_EQ(status, 200u);
}
