// Every chat template in the shared test data, and the built-in model's own,
// rendered for several conversations, byte for byte as Python's jinja2
// renders it the Hugging Face way (tests/jinja/jinja_oracle.py); refusals
// must match too.
#include "jinja/template.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "runtime/synthetic.hpp"
#include "tests/jinja/oracle.hpp"

namespace radixrt::jinja {
namespace {

using ojson = nlohmann::ordered_json;

const std::filesystem::path template_dir =
    std::filesystem::path(RADIXRT_TESTDATA_DIR) / "templates";

// The byte-level vocabulary's template (the built-in model's), by this name.
const std::string builtin_name = "radixrt-builtin.jinja";

std::string template_text(const std::string& name) {
    if (name == builtin_name) {
        return std::string(runtime::byte_vocab_chat_template());
    }
    std::ifstream f(template_dir / name);
    std::stringstream text;
    text << f.rdbuf();
    return text.str();
}

std::vector<std::string> template_names() {
    std::vector<std::string> names{builtin_name};
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(template_dir, ec)) {
        if (e.path().extension() == ".jinja") {
            names.push_back(e.path().filename().string());
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

ojson tools() {
    return ojson::parse(R"([
      {"type": "function", "function": {"name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {"type": "object", "properties": {
          "location": {"type": "string", "description": "The city, e.g. Paris"},
          "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"}},
          "required": ["location"]}}},
      {"type": "function", "function": {"name": "search",
        "description": "Search the web",
        "parameters": {"type": "object", "properties": {
          "queries": {"type": "array", "items": {"type": "string"}, "description": "Queries to run"},
          "limit": {"type": "integer", "description": "At most this many results"}},
          "required": ["queries"]}}}
    ])");
}

ojson tool_conversation(const char* id, bool null_content) {
    ojson call = {
        {"id", id},
        {"type", "function"},
        {"function",
         {{"name", "get_weather"}, {"arguments", {{"location", "Paris"}, {"unit", "celsius"}}}}}};
    ojson assistant = {{"role", "assistant"}, {"tool_calls", ojson::array({call})}};
    assistant["content"] = null_content ? ojson(nullptr) : ojson("");
    return ojson::array({
        {{"role", "system"}, {"content", "You are a helpful assistant."}},
        {{"role", "user"}, {"content", "What's the weather in Paris?"}},
        assistant,
        {{"role", "tool"}, {"tool_call_id", id}, {"content", "22 degrees, sunny"}},
    });
}

// As OpenAI clients send it: arguments as a JSON string, two calls in one
// turn, two tool results in a row, then the answer and a new question.
ojson parallel_conversation() {
    ojson calls = ojson::array();
    for (const char* city : {"Paris", "Rome"}) {
        calls.push_back({{"id", (std::string("call") + city + "0000").substr(0, 9)},
                         {"type", "function"},
                         {"function",
                          {{"name", "get_weather"},
                           {"arguments", std::string("{\"location\": \"") + city + "\"}"}}}});
    }
    return ojson::array({
        {{"role", "user"}, {"content", "Weather in Paris and Rome?"}},
        {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", calls}},
        {{"role", "tool"}, {"tool_call_id", calls[0]["id"]}, {"content", "22 degrees"}},
        {{"role", "tool"}, {"tool_call_id", calls[1]["id"]}, {"content", "25 degrees"}},
        {{"role", "assistant"}, {"content", "Warm in both."}},
        {{"role", "user"}, {"content", "Thanks"}},
    });
}

struct conversation {
    std::string name;
    ojson context;
};

std::vector<conversation> conversations() {
    const ojson plain = ojson::array({
        {{"role", "system"}, {"content", "You are a helpful assistant.\n"}},
        {{"role", "user"}, {"content", "Hello! How are you? Ünïcödé 😀"}},
    });
    const ojson multi = ojson::array({
        {{"role", "user"}, {"content", "What is 2+2?"}},
        {{"role", "assistant"}, {"content", "<think>easy</think>It is 4."}},
        {{"role", "user"}, {"content", "  And 3+3?  "}},
    });
    const auto ctx = [](ojson messages, bool gen) {
        return ojson{{"messages", std::move(messages)},
                     {"add_generation_prompt", gen},
                     {"bos_token", "<s>"},
                     {"eos_token", "</s>"}};
    };
    std::vector<conversation> out = {
        {"plain_generation_prompt", ctx(plain, true)},
        {"plain_no_generation_prompt", ctx(plain, false)},
        {"multi_turn", ctx(multi, true)},
    };
    for (const auto& [name, id, null_content] :
         {std::tuple{"tools_nine_char_id", "abc123XYZ", true},
          std::tuple{"tools_long_id_empty_content", "call_abc123xyz", false}}) {
        ojson c = ctx(tool_conversation(id, null_content), true);
        c["tools"] = tools();
        out.push_back({name, std::move(c)});
    }
    ojson c = ctx(parallel_conversation(), true);
    c["tools"] = tools();
    out.push_back({"tools_string_arguments_parallel", std::move(c)});
    return out;
}

class chat_template : public ::testing::TestWithParam<std::string> {};

TEST_P(chat_template, renders_like_jinja2) {
    const std::string text = template_text(GetParam());
    ASSERT_FALSE(text.empty()) << GetParam();
    const auto t = template_::parse(text);
    const auto convs = conversations();
    ojson batch = ojson::array();
    for (const auto& c : convs) {
        batch.push_back(
            {{"template", text}, {"context", c.context}, {"now", "2024-07-26T12:00:00"}});
    }
    const ojson expected = test::run_oracle(batch);
    ASSERT_TRUE(expected.is_array() && expected.size() == convs.size());
    render_options opt;
    opt.now = std::chrono::system_clock::time_point(
        std::chrono::seconds(1721995200)); // 2024-07-26 12:00 UTC
    int rendered = 0;
    for (std::size_t i = 0; i < convs.size(); ++i) {
        SCOPED_TRACE(GetParam() + " / " + convs[i].name);
        const ojson& want = expected[i];
        try {
            const std::string got = t.render(convs[i].context, opt);
            ASSERT_TRUE(want["ok"].get<bool>()) << "jinja2 refused (" << want["type"] << ": "
                                                << want["error"] << ") but we rendered:\n"
                                                << got;
            EXPECT_EQ(got, want["text"].get<std::string>());
            ++rendered;
        } catch (const error& e) {
            ASSERT_FALSE(want["ok"].get<bool>())
                << "we refused (" << e.what() << ") but jinja2 rendered:\n"
                << want["text"];
            if (want["raised"].get<bool>()) {
                EXPECT_EQ(e.kind(), error_kind::raised) << e.what();
                EXPECT_EQ(e.message(), want["error"].get<std::string>());
            } else {
                // A Python TypeError or UndefinedError: we raise too, with our
                // wording (shown for the record).
                std::cout << "  both refuse " << convs[i].name << ": jinja2 "
                          << want["type"].get<std::string>() << ": "
                          << want["error"].get<std::string>() << " | ours: " << e.what() << "\n";
            }
        }
    }
    EXPECT_GE(rendered, 1) << "every conversation was refused";
}

INSTANTIATE_TEST_SUITE_P(
    all, chat_template, ::testing::ValuesIn(template_names()), [](const auto& info) {
        std::string n = info.param.substr(0, info.param.size() - 6);
        std::replace_if(
            n.begin(), n.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
            '_');
        return n;
    });

TEST(chat_templates, test_data_is_present) {
    EXPECT_GE(template_names().size(), 10u) << "no templates in " << template_dir;
}

} // namespace
} // namespace radixrt::jinja
