// Tool calls in each call syntax: whole outputs parsed into content and
// calls (tables written from the formats' documentation and the templates
// in ../shared/testdata), the same split for every way the text can arrive
// in pieces, the format detected from the real templates, and grammars that
// accept exactly well-formed calls.
#include "http/tool_calls.hpp"

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/grammar.hpp"
#include "runtime/grammar_matcher.hpp"

namespace rh = radixrt::http;
namespace rr = radixrt::runtime;
using nlohmann::json;
using rh::tool_format;

namespace {

struct call {
    std::string name;
    std::string arguments; // JSON, compared as parsed values
    bool complete = true;
};

struct row {
    const char* what;
    tool_format f;
    std::string text;
    std::string content;
    std::vector<call> calls;
};

std::vector<row> table() {
    using F = tool_format;
    return {
        {"plain text", F::hermes, "Hello there.", "Hello there.", {}},
        {"hermes: one call",
         F::hermes,
         "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": "
         "\"Paris\"}}\n</tool_call>",
         "",
         {{"get_weather", R"({"location": "Paris"})"}}},
        {"hermes: text then two calls",
         F::hermes,
         "Let me check.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": [1, {\"y\": "
         "\"}\"}]}}\n"
         "</tool_call>\n<tool_call>\n{\"arguments\": {}, \"name\": \"b\"}\n</tool_call>",
         "Let me check.",
         {{"a", R"({"x": [1, {"y": "}"}]})"}, {"b", "{}"}}},
        {"hermes: string arguments",
         F::hermes,
         "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"k\\\": 2}\"}</tool_call>",
         "",
         {{"f", R"({"k": 2})"}}},
        {"hermes: no arguments key",
         F::hermes,
         "<tool_call>{\"name\": \"now\"}</tool_call>",
         "",
         {{"now", "{}"}}},
        {"hermes: not JSON after the tag is content",
         F::hermes,
         "<tool_call>oops</tool_call>",
         "<tool_call>oops</tool_call>",
         {}},
        {"hermes: cut off mid-arguments",
         F::hermes,
         "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": \"unfin",
         "",
         {{"f", "", false}}},
        {"hermes: a tag-like text is content", F::hermes, "Use <tool> tags", "Use <tool> tags", {}},
        {"hermes: text after the calls",
         F::hermes,
         "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>\nDone.",
         "Done.",
         {{"f", "{}"}}},
        {"llama3: the whole answer",
         F::llama3,
         " {\"name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\"}}",
         "",
         {{"get_weather", R"({"location": "Paris"})"}}},
        {"llama3: two calls",
         F::llama3,
         "{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"parameters\": {\"n\": 1}}",
         "",
         {{"a", "{}"}, {"b", R"({"n": 1})"}}},
        {"llama3: python_tag",
         F::llama3,
         "<|python_tag|>{\"name\": \"f\", \"parameters\": {\"q\": \"x\"}}",
         "",
         {{"f", R"({"q": "x"})"}}},
        {"llama3: a JSON answer without a name is content",
         F::llama3,
         "{\"answer\": 42}",
         "{\"answer\": 42}",
         {}},
        {"llama3: a brace later in the text is content",
         F::llama3,
         "The set is {\"name\": \"x\"}",
         "The set is {\"name\": \"x\"}",
         {}},
        {"mistral: two calls",
         F::mistral,
         "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {\"x\": 1}, \"id\": \"abcdefghi\"}, "
         "{\"name\": \"b\", \"arguments\": {}}]",
         "",
         {{"a", R"({"x": 1})"}, {"b", "{}"}}},
        {"mistral: space before the array",
         F::mistral,
         "[TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {}}]",
         "",
         {{"a", "{}"}}},
        {"mistral: no array is content",
         F::mistral,
         "[TOOL_CALLS] sorry",
         "[TOOL_CALLS] sorry",
         {}},
        {"functionary: two calls",
         F::functionary,
         "<function=get_weather>{\"location\": \"Paris\"}</function><function=now>{}</function>",
         "",
         {{"get_weather", R"({"location": "Paris"})"}, {"now", "{}"}}},
        {"functionary: text first",
         F::functionary,
         "Sure.<function=f>{\"a\": \"<b>\"}</function>",
         "Sure.",
         {{"f", R"({"a": "<b>"})"}}},
        {"functionary: a bad name is content",
         F::functionary,
         "<function=a b>{}</function>",
         "<function=a b>{}</function>",
         {}},
        // Found by fuzz_tool_calls: each split once depended on how the text arrived.
        {"llama3: broken after the name",
         F::llama3,
         "{\"name\": \"f\", \"parametesr\", :{}} rest",
         ", :{}} rest",
         {{"f", "", false}}},
        {"functionary: a name longer than 64 is content",
         F::functionary,
         "<function=" + std::string(70, 'g') + ">{}</function>",
         "<function=" + std::string(70, 'g') + ">{}</function>",
         {}},
        {"hermes: a second name key changes nothing",
         F::hermes,
         "<tool_call>{\"name\": \"f\", \"name\": \"g\", \"arguments\": {}}</tool_call>",
         "",
         {{"f", "{}"}}},
        {"hermes: a second arguments key changes nothing",
         F::hermes,
         "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1}, \"arguments\": \"x\"}"
         "</tool_call>",
         "",
         {{"f", "{\"a\": 1}"}}},
        {"none: markers are plain text",
         F::none,
         "<tool_call>{\"name\": \"f\"}</tool_call>",
         "<tool_call>{\"name\": \"f\"}</tool_call>",
         {}},
    };
}

void expect_output(const rh::parsed_output& got, const row& r, const std::string& how) {
    SCOPED_TRACE(std::string(r.what) + " " + how);
    EXPECT_EQ(got.content, r.content);
    ASSERT_EQ(got.calls.size(), r.calls.size());
    for (std::size_t i = 0; i < r.calls.size(); ++i) {
        EXPECT_EQ(got.calls[i].name, r.calls[i].name) << i;
        EXPECT_EQ(got.calls[i].complete, r.calls[i].complete) << i;
        if (r.calls[i].complete) {
            EXPECT_EQ(json::parse(got.calls[i].arguments), json::parse(r.calls[i].arguments)) << i;
        }
        if (r.f == tool_format::mistral) {
            EXPECT_EQ(got.calls[i].id.size(), 9u);
        } else {
            EXPECT_TRUE(got.calls[i].id.starts_with("call_")) << got.calls[i].id;
        }
    }
}

// Feeds text in pieces; the calls are assembled from the events as a client would.
rh::parsed_output streamed(tool_format f, const std::string& text,
                           const std::vector<std::size_t>& cuts) {
    rh::tool_call_parser p(f);
    std::vector<rh::tool_event> events;
    std::size_t from = 0;
    for (std::size_t cut : cuts) {
        auto e = p.push(std::string_view(text).substr(from, cut - from));
        events.insert(events.end(), e.begin(), e.end());
        from = cut;
    }
    auto e = p.push(std::string_view(text).substr(from));
    events.insert(events.end(), e.begin(), e.end());
    e = p.finish();
    events.insert(events.end(), e.begin(), e.end());
    rh::parsed_output out;
    for (const auto& ev : events) {
        if (ev.what == rh::tool_event::kind::content) {
            out.content += ev.text;
        } else if (ev.what == rh::tool_event::kind::call_begin) {
            EXPECT_EQ(ev.index, out.calls.size()); // a call's name comes first, in order
            out.calls.push_back({ev.id, ev.text, "", false});
        } else if (ev.what == rh::tool_event::kind::arguments) {
            EXPECT_LT(ev.index, out.calls.size());
            out.calls.at(ev.index).arguments += ev.text;
        } else {
            out.calls.at(ev.index).complete = true;
        }
    }
    return out;
}

TEST(tool_calls, whole_outputs) {
    for (const auto& r : table()) {
        expect_output(rh::parse_tool_calls(r.f, r.text), r, "whole");
    }
}

TEST(tool_calls, every_split_point_and_random_pieces_give_the_same_split) {
    std::mt19937 g(7);
    for (const auto& r : table()) {
        for (std::size_t cut = 0; cut <= r.text.size(); ++cut) {
            expect_output(streamed(r.f, r.text, {cut}), r, "split at " + std::to_string(cut));
        }
        std::vector<std::size_t> bytes;
        for (std::size_t i = 1; i < r.text.size(); ++i) {
            bytes.push_back(i);
        }
        expect_output(streamed(r.f, r.text, bytes), r, "byte by byte");
        for (int k = 0; k < 20; ++k) {
            std::vector<std::size_t> cuts;
            for (std::size_t i = 1; i < r.text.size(); ++i) {
                if (g() % 4 == 0) {
                    cuts.push_back(i);
                }
            }
            expect_output(streamed(r.f, r.text, cuts), r, "random pieces");
        }
    }
}

// An unfinished call whose arguments key comes twice, the first value a
// primitive and the second a string (found by fuzz_tool_calls): the
// arguments streamed so far are the same text whole or in pieces.
TEST(tool_calls, a_repeated_arguments_key_keeps_unfinished_arguments_split_invariant) {
    const std::string text = "<tool_call>\n{\"name\": \"f\", \"arguments\": 7, \"ar\": \"f\", "
                             "\"arguments\": \"f\", \"argu";
    const auto whole = rh::parse_tool_calls(tool_format::hermes, text);
    ASSERT_EQ(whole.calls.size(), 1u);
    EXPECT_EQ(whole.calls[0].name, "f");
    EXPECT_EQ(whole.calls[0].arguments, "7");
    EXPECT_FALSE(whole.calls[0].complete);
    std::vector<std::size_t> bytes;
    for (std::size_t cut = 1; cut < text.size(); ++cut) {
        bytes.push_back(cut);
        const auto part = streamed(tool_format::hermes, text, {cut});
        ASSERT_EQ(part.calls.size(), 1u) << cut;
        EXPECT_EQ(part.calls[0].arguments, whole.calls[0].arguments) << "split at " << cut;
        EXPECT_EQ(part.content, whole.content) << cut;
    }
    const auto each = streamed(tool_format::hermes, text, bytes);
    ASSERT_EQ(each.calls.size(), 1u);
    EXPECT_EQ(each.calls[0].arguments, whole.calls[0].arguments);
}

TEST(tool_calls, content_streams_before_the_call_and_held_text_only_near_a_marker) {
    rh::tool_call_parser p(tool_format::hermes);
    auto e = p.push("Sure, <tool");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].text, "Sure,"); // the space and "<tool" wait
    e = p.push("_call>\n{\"name\": \"f\", \"arg");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].what, rh::tool_event::kind::call_begin);
    EXPECT_EQ(e[0].text, "f");
    e = p.push("uments\": {\"a\": 1");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].what, rh::tool_event::kind::arguments);
    EXPECT_EQ(e[0].text, "{\"a\": 1");
}

std::string read(const std::string& name) {
    std::ifstream f(std::string(RADIXRT_TESTDATA_DIR) + "/templates/" + name);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

TEST(tool_calls, formats_of_the_real_templates) {
    EXPECT_EQ(rh::detect_tool_format(read("Qwen-Qwen2.5-7B-Instruct.jinja")), tool_format::hermes);
    EXPECT_EQ(rh::detect_tool_format(read("NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja")),
              tool_format::hermes);
    EXPECT_EQ(rh::detect_tool_format(read("meta-llama-Llama-3.1-8B-Instruct.jinja")),
              tool_format::llama3);
    EXPECT_EQ(rh::detect_tool_format(read("mistralai-Mistral-Nemo-Instruct-2407.jinja")),
              tool_format::mistral);
    EXPECT_EQ(rh::detect_tool_format(read("meetkai-functionary-medium-v3.1.jinja")),
              tool_format::functionary);
    EXPECT_EQ(rh::detect_tool_format(read("google-gemma-2-2b-it.jinja")), tool_format::none);
    EXPECT_EQ(rh::detect_tool_format(read("microsoft-Phi-3.5-mini-instruct.jinja")),
              tool_format::none);
}

// The forced-call grammar accepts the format's calls with valid arguments
// and nothing else; the parser reads back what it accepts.
TEST(tool_calls, grammars_accept_exactly_valid_calls) {
    rh::tool_options o;
    o.tools = {{"get_weather", R"({"type": "object", "properties": {"city": {"type": "string"},
        "days": {"type": "integer", "minimum": 1, "maximum": 7}}, "required": ["city"],
        "additionalProperties": false})"},
               {"now", ""}};
    o.choice = rh::tool_choice::required;
    struct sample {
        tool_format f;
        std::string good, bad;
    };
    const std::vector<sample> samples = {
        {tool_format::hermes,
         "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", \"days\": "
         "3}}\n</tool_call>",
         "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"days\": 3}}\n</tool_call>"},
        {tool_format::llama3, "{\"name\": \"now\", \"parameters\": {}}",
         "{\"name\": \"later\", \"parameters\": {}}"},
        {tool_format::mistral,
         "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}, "
         "\"id\": \"a1b2c3d4e\"},{\"name\": \"now\", \"arguments\": {}, \"id\": \"Z9Y8X7W6V\"}]",
         "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\", \"days\": "
         "9}, \"id\": \"a1b2c3d4e\"}]"},
        {tool_format::functionary, "<function=get_weather>{\"city\": \"Lima\"}</function>",
         "<function=get_weather>{\"town\": \"Lima\"}</function>"},
    };
    for (const auto& s : samples) {
        SCOPED_TRACE(rh::to_string(s.f));
        const auto c = rh::tool_call_constraint(s.f, o);
        ASSERT_TRUE(c) << c.error().message;
        EXPECT_TRUE(c->triggers.empty());
        const auto g = rr::grammar::parse(c->text);
        rr::grammar_matcher good(g), bad(g);
        EXPECT_TRUE(good.accept_bytes(s.good) && good.is_complete()) << c->text;
        EXPECT_FALSE(bad.accept_bytes(s.bad) && bad.is_complete());
        const auto parsed = rh::parse_tool_calls(s.f, s.good);
        ASSERT_FALSE(parsed.calls.empty());
        EXPECT_TRUE(parsed.content.empty());
        for (const auto& call : parsed.calls) {
            EXPECT_TRUE(call.complete);
            EXPECT_FALSE(json::parse(call.arguments).is_discarded());
        }
    }
    // Not parallel: one call only; named: that tool only; automatic: lazy.
    o.parallel = false;
    auto one = rh::tool_call_constraint(tool_format::mistral, o);
    rr::grammar_matcher m(rr::grammar::parse(one->text));
    EXPECT_FALSE(m.accept_bytes(samples[2].good));
    o.choice = rh::tool_choice::named;
    o.named = "now";
    auto named = rh::tool_call_constraint(tool_format::hermes, o);
    rr::grammar_matcher n(rr::grammar::parse(named->text));
    EXPECT_FALSE(n.accept_bytes(samples[0].good));
    o.choice = rh::tool_choice::automatic;
    auto lazy = rh::tool_call_constraint(tool_format::hermes, o);
    ASSERT_EQ(lazy->triggers.size(), 1u);
    EXPECT_EQ(lazy->triggers[0].text, "<tool_call>");
    // A schema the grammar engine refuses names its tool.
    o.tools[1].parameters = R"({"type": "object", "not": {}})";
    o.choice = rh::tool_choice::required;
    const auto refused = rh::tool_call_constraint(tool_format::hermes, o);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().param, "tools[1].function.parameters");
    EXPECT_NE(refused.error().message.find("'not'"), std::string::npos) << refused.error().message;
}

} // namespace
