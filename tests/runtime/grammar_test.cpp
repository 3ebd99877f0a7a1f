#include "runtime/grammar.hpp"

#include <gtest/gtest.h>

#include "runtime/grammar_matcher.hpp"

namespace rr = radixrt::runtime;

namespace {

struct reject_case {
    const char* text;
    std::size_t line, column;
    const char* message_part;
};

bool matches(const std::shared_ptr<const rr::grammar>& g, std::string_view s) {
    rr::grammar_matcher m(g);
    return m.accept_bytes(s) && m.is_complete();
}

} // namespace

TEST(grammar_parser, accepts) {
    const char* ok[] = {
        "root ::= \"a\"",
        "root ::= \"a\" | \"b\" # comment\n",
        "# leading comment\nroot ::= x\nx ::= [a-z]+ ( \"-\" [0-9]{2,3} )*\n",
        "root ::= (\n  \"a\" |\n  \"b\"\n)",
        "root ::= \"\\x41\\u00e9\\U0001F600\\n\\t\\\"\\\\\"",
        "root ::= [^\"\\\\] . [\\]] [a-] ",
        "root ::= x{3} x{2,} x{1,4} x{,2} x? \nx ::= \"x\"",
        "root ::= \"\" | ",
        "root ::= \"é\" [α-ω]",
        "root ::= a\na ::= \"a\" a | \"b\"",  // right recursion is fine
        "root-rule_1 ::= \"x\"\nroot ::= root-rule_1",
    };
    for (const char* text : ok) {
        EXPECT_NO_THROW(rr::grammar::parse(text)) << text;
    }
}

TEST(grammar_parser, rejects_with_position) {
    const reject_case bad[] = {
        {"root ::= \"abc", 1, 14, "unterminated string"},
        {"root ::= [a-z", 1, 14, "expected ']'"},
        {"root ::= x", 1, 10, "undefined rule 'x'"},
        {"root ::= \"a\"\nroot ::= \"b\"", 2, 1, "defined twice"},
        {"root = \"a\"", 1, 6, "expected '::='"},
        {"root ::= ( \"a\"", 1, 15, "expected ')'"},
        {"root ::= * \"a\"", 1, 10, "must follow an item"},
        {"root ::= \"a\"{3,2}", 1, 13, "n < m"},
        {"root ::= \"a\"{2", 1, 15, "expected '}'"},
        {"root ::= \"a\" )", 1, 14, "unexpected ')'"},
        {"root ::= \"\\q\"", 1, 11, "unknown escape"},
        {"root ::= \"\\x4\"", 1, 14, "hex digits"},
        {"root ::= [z-a]", 1, 13, "out of order"},
        {"x ::= \"a\"", 0, 0, "no 'root' rule"},
        {"root ::= root \"a\"", 0, 0, "left-recursive"},
        {"root ::= a\na ::= b? a \"x\"\nb ::= \"b\"", 0, 0, "left-recursive"},
        {"root ::= (\"a\"?)*", 0, 0, "left-recursive"},
        {"root ::= \"a\"{99999}", 1, 14, "exceeds"},
        {"\n  ::= \"a\"", 2, 3, "expected a rule name"},
    };
    for (const auto& c : bad) {
        try {
            rr::grammar::parse(c.text);
            ADD_FAILURE() << "accepted: " << c.text;
        } catch (const rr::grammar_error& e) {
            EXPECT_EQ(e.line(), c.line) << c.text << " -> " << e.what();
            EXPECT_EQ(e.column(), c.column) << c.text << " -> " << e.what();
            EXPECT_NE(std::string(e.what()).find(c.message_part), std::string::npos)
                << c.text << " -> " << e.what();
        }
    }
}

TEST(grammar_parser, caps_size) {
    rr::grammar_limits lim;
    lim.max_elements = 100;
    EXPECT_THROW(rr::grammar::parse("root ::= \"a\"{200}", lim), rr::grammar_error);
    lim = {};
    lim.max_source_bytes = 10;
    EXPECT_THROW(rr::grammar::parse("root ::= \"aaaaaaaa\"", lim), rr::grammar_error);
    lim = {};
    lim.max_rules = 3;
    EXPECT_THROW(rr::grammar::parse("root ::= (\"a\") (\"b\") (\"c\")", lim), rr::grammar_error);
}

struct match_table {
    const char* grammar;
    std::vector<std::string> accept;
    std::vector<std::string> reject;
};

TEST(grammar_matcher, tables) {
    const match_table tables[] = {
        {R"g(root ::= expr
expr ::= term (("+" | "-") term)*
term ::= factor (("*" | "/") factor)*
factor ::= [0-9]+ | "(" expr ")")g",
         {"1", "1+2", "12*(3-4)/5", "((7))", "1+2*3-4"},
         {"", "+", "1+", "(1", "1)", "a", "1 + 2", "()"}},
        {R"g(root ::= value
value ::= object | array | string | number | "true" | "false" | "null"
object ::= "{" ws ( member ( "," ws member )* )? "}" ws
member ::= string ":" ws value
array ::= "[" ws ( value ( "," ws value )* )? "]" ws
string ::= "\"" ( [^"\\\x00-\x1f] | "\\" ["\\/bfnrt] | "\\u" [0-9a-fA-F]{4} )* "\"" ws
number ::= "-"? ( "0" | [1-9] [0-9]* ) ( "." [0-9]+ )? ( [eE] [-+]? [0-9]+ )? ws
ws ::= [ \t\n]*)g",
         {"{}", R"({"a": [1, -2.5e3, true, null], "b": {"c": "d\n\u00e9"}})", "[]", "\"x\"",
          "0", "{ }"},
         {"{", R"({"a" 1})", "01", "[1,]", "{\"a\":}", "\"\\x\"", "tru", "\"\x01\""}},
        {"root ::= \"a\"{2,4} \"b\"{3} [xy]{0,2} \"c\"{2,}",
         {"aabbbcc", "aaaabbbxycc", "aaabbbyccc"},
         {"abbbcc", "aaaaabbbcc", "aabbcc", "aabbbxyxcc", "aabbbc"}},
        {"root ::= [^a-c\\n] [a-c] [^\\x00-\\x7f]",
         {"dbé", "Zc日", "\tc😀"},
         {"abé", "\nbé", "dbe", "dde"}},
        {"root ::= \"日本\" [α-ω]+ \"😀\"?",
         {"日本α", "日本αβω😀"},
         {"日本", "日本a", "本α"}},
        {"root ::= .{2}", {"ab", "éé", "a😀"}, {"a", "abc"}},
        {"root ::= [a-z]*", {"", "abc"}, {"A"}},
    };
    for (const auto& t : tables) {
        const auto g = rr::grammar::parse(t.grammar);
        for (const auto& s : t.accept) {
            EXPECT_TRUE(matches(g, s)) << t.grammar << "\n should accept: " << s;
        }
        for (const auto& s : t.reject) {
            EXPECT_FALSE(matches(g, s)) << t.grammar << "\n should reject: " << s;
        }
    }
}

TEST(grammar_matcher, utf8_split_anywhere) {
    const auto g = rr::grammar::parse("root ::= \"a\" [é😀日]+ \"b\"");
    const std::string text = "a😀é日😀b";
    for (std::size_t cut1 = 0; cut1 <= text.size(); ++cut1) {
        for (std::size_t cut2 = cut1; cut2 <= text.size(); ++cut2) {
            rr::grammar_matcher m(g);
            ASSERT_TRUE(m.accept_bytes(text.substr(0, cut1)));
            ASSERT_TRUE(m.accept_bytes(text.substr(cut1, cut2 - cut1)));
            ASSERT_TRUE(m.accept_bytes(text.substr(cut2)));
            EXPECT_TRUE(m.is_complete());
        }
    }
    rr::grammar_matcher m(g);
    ASSERT_TRUE(m.accept_bytes("a\xF0\x9F"));  // half of 😀
    EXPECT_FALSE(m.is_complete());
    EXPECT_FALSE(m.accept_bytes("\x98\x81")); // 😁 is not in the class
    EXPECT_TRUE(m.accept_bytes("\x98\x80" "b"));  // the state survived the failed call
    EXPECT_TRUE(m.is_complete());
    rr::grammar_matcher dead(g);
    EXPECT_FALSE(dead.accept_bytes("a\xE2")); // no member starts with E2 (U+2000..)
    EXPECT_FALSE(dead.accept_bytes("a\x80")); // a lone continuation byte
    EXPECT_FALSE(dead.accept_bytes("a\xFF"));
    EXPECT_FALSE(dead.accept_bytes("a\xF0\x80"));         // overlong: dies at once
    EXPECT_FALSE(dead.accept_bytes("a\xC1\x81"));         // overlong 'A'
    EXPECT_FALSE(dead.accept_bytes("a\xF4\x90"));         // above U+10FFFF
    const auto any = rr::grammar::parse("root ::= .");
    EXPECT_FALSE(rr::grammar_matcher(any).accept_bytes("\xED\xA0\x80")); // a surrogate
    EXPECT_FALSE(rr::grammar_matcher(any).accept_bytes("\xE0\x81\x81")); // overlong
}

TEST(grammar_matcher, completion_and_continuation) {
    const auto g = rr::grammar::parse("root ::= \"ab\" | \"abc\" [0-9]*");
    rr::grammar_matcher m(g);
    EXPECT_FALSE(m.is_complete());
    EXPECT_TRUE(m.can_continue());
    ASSERT_TRUE(m.accept_bytes("ab"));
    EXPECT_TRUE(m.is_complete());
    EXPECT_TRUE(m.can_continue());
    rr::grammar_matcher copy = m; // copies are independent
    ASSERT_TRUE(copy.accept_bytes("c1"));
    EXPECT_TRUE(copy.is_complete());
    EXPECT_TRUE(copy.can_continue());
    EXPECT_FALSE(m.accept_bytes("x"));
    const auto done = rr::grammar::parse("root ::= \"x\"");
    rr::grammar_matcher d(done);
    ASSERT_TRUE(d.accept_bytes("x"));
    EXPECT_TRUE(d.is_complete());
    EXPECT_FALSE(d.can_continue());
}

// A long generation keeps its memory bounded: the tail-called star rule adds
// no frames, and the pool is compacted.
TEST(grammar_matcher, long_input_stays_small) {
    const auto g = rr::grammar::parse("root ::= (\"[\" [a-z]* \"]\")* ");
    rr::grammar_matcher m(g);
    ASSERT_TRUE(m.accept_bytes("["));
    for (int i = 0; i < 20000; ++i) {
        ASSERT_TRUE(m.accept_bytes(i % 10 == 9 ? "][" : "ab"));
    }
    EXPECT_LT(m.pool().size(), 8192u);
    EXPECT_LE(m.state().end - m.state().begin, 4u);
}

TEST(grammar_matcher, ambiguity_is_capped) {
    // After n a's, every count 0..n of pending b's is a live parse: the set
    // grows linearly until the cap.
    const auto g = rr::grammar::parse("root ::= s\ns ::= \"a\" s \"b\" | \"a\" s | ");
    rr::grammar_matcher m(g);
    ASSERT_TRUE(m.accept_bytes(std::string(100, 'a')));
    ASSERT_TRUE(m.accept_bytes(std::string(50, 'b')));
    EXPECT_TRUE(m.is_complete());
    rr::grammar_matcher big(g);
    EXPECT_THROW(big.accept_bytes(std::string(5000, 'a')), rr::grammar_error);
}
