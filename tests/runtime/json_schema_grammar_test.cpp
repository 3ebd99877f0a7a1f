#include "runtime/json_schema_grammar.hpp"

#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/grammar_mask.hpp"
#include "runtime/json_schema_detail.hpp"
#include "tests/support/json_schema_validator.hpp"

namespace rr = radixrt::runtime;
using nlohmann::json;
using radixrt::test::validator;

namespace {

// Every byte is a token, plus an end token: the walk can produce anything.
std::shared_ptr<const rr::token_trie> byte_vocab() {
    std::vector<std::string> v;
    for (int b = 0; b < 256; ++b) {
        v.push_back(std::string(1, char(b)));
    }
    v.push_back("");
    return std::make_shared<const rr::token_trie>(std::move(v), std::vector<rr::token_id>{256});
}

// A random walk through the grammar's masks; after `budget` bytes it leans
// to closing characters so most walks finish. Empty when it did not.
std::string random_sentence(const std::shared_ptr<const rr::grammar>& g, const rr::token_trie& trie,
                            std::mt19937& rng, std::size_t budget) {
    rr::grammar_matcher m(g);
    rr::token_mask mask;
    rr::mask_scratch scratch;
    std::string out;
    const std::string closers = "\"}]0123456789";
    while (out.size() < budget * 8) {
        if (m.is_complete() && (rng() % 4 == 0 || out.size() > budget || !m.can_continue())) {
            return out;
        }
        rr::fill_token_mask(m, trie, mask, scratch);
        std::vector<int> allowed, closing;
        for (int b = 0; b < 256; ++b) {
            if (mask.test(std::size_t(b))) {
                allowed.push_back(b);
                if (closers.find(char(b)) != std::string::npos) {
                    closing.push_back(b);
                }
            }
        }
        if (allowed.empty()) {
            ADD_FAILURE() << "dead state after: " << out;
            return {};
        }
        const auto& from = out.size() > budget && !closing.empty() ? closing : allowed;
        const char c = char(from[rng() % from.size()]);
        EXPECT_TRUE(m.accept_bytes(std::string(1, c)));
        out += c;
    }
    return {};
}

void check_schema(const std::string& schema, int samples, std::uint32_t seed) {
    SCOPED_TRACE(schema);
    const auto g = rr::json_schema_grammar(schema);
    const auto trie = byte_vocab();
    const validator val(json::parse(schema));
    std::mt19937 rng(seed);
    int finished = 0;
    for (int i = 0; i < samples; ++i) {
        const std::string s = random_sentence(g, *trie, rng, 60);
        if (s.empty()) {
            continue;
        }
        ++finished;
        json v;
        ASSERT_NO_THROW(v = json::parse(s)) << s;
        EXPECT_TRUE(val.valid(v)) << s;
    }
    EXPECT_GT(finished, samples / 2);
}

} // namespace

TEST(json_schema_grammar, random_instances_are_valid) {
    const char* schemas[] = {
        R"({"type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":12},
            "age":{"type":"integer","minimum":0,"maximum":130},
            "email":{"type":"string","pattern":"^[a-z]+@[a-z]+\\.(com|org)$"},
            "tags":{"type":"array","items":{"type":"string","enum":["a","b","c"]},"minItems":1,"maxItems":3}},
            "required":["name","age"],"additionalProperties":false})",
        R"({"type":"object","properties":{"id":{"type":"string","format":"uuid"},
            "when":{"type":"string","format":"date-time"},"day":{"type":"string","format":"date"},
            "n":{"type":"number"},"ok":{"type":"boolean"},"nothing":{"type":"null"}},
            "required":["id","when","day","n","ok","nothing"]})",
        R"({"$defs":{"node":{"type":"object","properties":{
            "v":{"type":"integer","exclusiveMinimum":-5,"exclusiveMaximum":1000},
            "kids":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},
            "required":["v"],"additionalProperties":false}},"$ref":"#/$defs/node"})",
        R"({"anyOf":[{"type":"integer","minimum":-20,"maximum":-3},{"type":"string","const":"x"},
            {"type":"array","items":{"type":["integer","null"]}}]})",
        R"({"enum":[{"a":[1,2]},"s\"q\n",3.5,null,true]})",
        R"({"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"boolean"}})",
        R"({"type":"object"})",
        R"({"type":"array","items":{"type":"string","maxLength":3},"minItems":2,"maxItems":4})",
        R"({"oneOf":[{"type":"boolean"},{"type":"object","properties":{"k":{"const":1}},"required":["k"]}]})",
        R"({"type":"integer","minimum":-1234567,"maximum":98765432})",
        R"({"type":"object","properties":{"p":{"type":"string","pattern":"[0-9]{2}x?"},
            "q":{"type":"string","pattern":"^(ab|c+)*$"}},"required":["p","q"]})",
        R"({"type":"object","properties":{"x":{"type":"string"},"y":{"type":"string"}},"required":["y"]})",
    };
    std::uint32_t seed = 1;
    for (const char* s : schemas) {
        check_schema(s, 40, seed++);
    }
}

TEST(json_schema_grammar, json_object_mode) {
    const auto g = rr::json_object_grammar();
    const auto trie = byte_vocab();
    std::mt19937 rng(7);
    for (int i = 0; i < 30; ++i) {
        const auto s = random_sentence(g, *trie, rng, 60);
        if (!s.empty()) {
            json v;
            ASSERT_NO_THROW(v = json::parse(s)) << s;
            EXPECT_TRUE(v.is_object());
        }
    }
}

TEST(json_schema_grammar, integer_ranges_are_exact) {
    const std::pair<std::int64_t, std::int64_t> ranges[] = {
        {0, 0}, {0, 9}, {3, 7}, {-20, -3}, {-5, 5}, {7, 123}, {10, 99}, {19, 1001}, {-1000, -1}, {0, 100000}};
    for (const auto& [lo, hi] : ranges) {
        const auto g = rr::grammar::parse("root ::= " + rr::integer_range_gbnf(lo, hi));
        for (std::int64_t x = std::min<std::int64_t>(lo - 50, -60); x <= hi + 1200; ++x) {
            rr::grammar_matcher m(g);
            const bool ok = m.accept_bytes(std::to_string(x)) && m.is_complete();
            ASSERT_EQ(ok, x >= lo && x <= hi) << lo << ".." << hi << " x=" << x;
        }
        rr::grammar_matcher m(g);
        EXPECT_FALSE(m.accept_bytes("-0") && m.is_complete());
        rr::grammar_matcher lead(g);
        EXPECT_FALSE(lead.accept_bytes("05") && lead.is_complete());
    }
}

TEST(json_schema_grammar, refusals_name_the_keyword) {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"type":"object","patternProperties":{}})", "patternProperties"},
        {R"({"allOf":[{"type":"string"}]})", "allOf"},
        {R"({"type":"number","minimum":1})", "minimum"},
        {R"({"type":"string","format":"email"})", "format"},
        {R"({"type":"string","pattern":"(a)\\1"})", "pattern"},
        {R"({"type":"string","pattern":"(?=a)b"})", "pattern"},
        {R"({"type":"string","pattern":"a\\bc"})", "pattern"},
        {R"({"type":"string","pattern":"a^b"})", "pattern"},
        {R"({"$ref":"http://example.com/s.json"})", "$ref"},
        {R"({"$ref":"#/$defs/missing"})", "$ref"},
        {R"({"type":"array","prefixItems":[]})", "prefixItems"},
        {R"({"type":"array","uniqueItems":true})", "uniqueItems"},
        {R"({"not":{}})", "not"},
        {R"({"type":"object","minProperties":1})", "minProperties"},
        {R"({"type":"string","maxLength":5000})", "maxLength"},
        {R"({"type":"string","minLength":2,"pattern":"a+"})", "minLength"},
        {R"({"if":{"type":"string"}})", "if"},
        {R"({"type":"integer","minimum":1e300})", "minimum"},
        {R"({"type":"integer","minimum":5,"maximum":4})", "minimum"},
        {R"({"type":"banana"})", "type"},
        {R"(false)", "false"},
        {R"({"$defs":{"a":{"anyOf":[{"$ref":"#/$defs/a"},{"type":"null"}]}},"$ref":"#/$defs/a"})", "$ref"},
    };
    for (const auto& [schema, keyword] : cases) {
        try {
            rr::json_schema_grammar(schema);
            ADD_FAILURE() << "accepted: " << schema;
        } catch (const rr::schema_error& e) {
            EXPECT_EQ(e.keyword(), keyword) << schema << " -> " << e.what();
        }
    }
    EXPECT_THROW(rr::json_schema_grammar("{\"type\":"), std::invalid_argument);
}

TEST(regex_grammar, full_match_tables) {
    struct row {
        const char* re;
        std::vector<std::string> yes, no;
    };
    const row rows[] = {
        {"[a-c]+x?", {"a", "abcx", "cc"}, {"", "x", "abd", "axx"}},
        {"(ab|c)*d{2,3}", {"dd", "abcddd", "cabdd"}, {"d", "abdddd", "acdd"}},
        {"\\d{3}-\\w\\s\\.", {"123-a .", "000-_\t."}, {"12-a .", "123-- ."}},
        {"[^0-9\\n]", {"a", "é", "-"}, {"5", "\n", "ab"}},
        {"(?:x|yz)+?$", {"x", "yzx"}, {"y", ""}},
        {"^a.c$", {"abc", "a😀c"}, {"a\nc", "ac"}},
        {"[]a]", {"]", "a"}, {"b"}},
        {"\\u00e9\\x41", {"éA"}, {"eA"}},
        {"(?<year>[0-9]{4})", {"2024"}, {"202"}},
    };
    for (const auto& r : rows) {
        const auto g = rr::regex_grammar(r.re);
        for (const auto& s : r.yes) {
            rr::grammar_matcher m(g);
            EXPECT_TRUE(m.accept_bytes(s) && m.is_complete()) << r.re << " should match " << s;
        }
        for (const auto& s : r.no) {
            rr::grammar_matcher m(g);
            EXPECT_FALSE(m.accept_bytes(s) && m.is_complete()) << r.re << " should not match " << s;
        }
    }
    for (const char* bad : {"(a", "a)", "*a", "a{2", "a**", "a++", "(?!x)", "\\2", "[b-a]", "a\\"}) {
        EXPECT_THROW(rr::regex_grammar(bad), rr::schema_error) << bad;
    }
}

TEST(json_value, parse_and_dump) {
    const std::pair<const char*, const char*> round[] = {
        {R"( {"a" : [1, -2.5e+3, true, false, null], "b": {}} )", R"({"a":[1,-2.5e+3,true,false,null],"b":{}})"},
        {R"("\u00e9\ud83d\ude00\n\"\\\/")", "\"é😀\\u000a\\\"\\\\/\""},
        {"[]", "[]"},
        {"0", "0"},
    };
    for (const auto& [in, out] : round) {
        EXPECT_EQ(rr::parse_json(in).dump(), out) << in;
    }
    for (const char* bad : {"", "{", "[1,]", "01", "1.", "-", "\"\\ud800\"", "\"a", "{\"a\" 1}", "tru", "1 2",
                            "\"\x01\""}) {
        EXPECT_THROW(rr::parse_json(bad), std::invalid_argument) << bad;
    }
    EXPECT_THROW(rr::parse_json(std::string(100, '[') + std::string(100, ']')), std::invalid_argument);
    EXPECT_NO_THROW(rr::parse_json(std::string(60, '[') + std::string(60, ']')));
}
