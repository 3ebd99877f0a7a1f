// The grammar processor's lazy mode (a constraint that starts at a trigger)
// and preserved control tokens (matched as their text). The reference for
// every mask: a plain processor fed the text from the trigger on.
#include "runtime/grammar_processor.hpp"

#include <cmath>

#include <gtest/gtest.h>

namespace rr = radixrt::runtime;

namespace {

// Ids 0..255 are the bytes; then a few multi-byte pieces, a control token
// (empty bytes, shown as "[C]" where a request preserves it) and EOS.
struct vocab {
    std::shared_ptr<const rr::token_trie> trie;
    rr::token_id piece_x_lt_t, piece_lt_t_gt_1, piece_lt_t_gt_z, control, eos;
};

vocab make_vocab() {
    std::vector<std::string> v;
    for (int b = 0; b < 256; ++b) {
        v.push_back(std::string(1, char(b)));
    }
    vocab out{};
    out.piece_x_lt_t = rr::token_id(v.size());
    v.push_back("x<t");
    out.piece_lt_t_gt_1 = rr::token_id(v.size());
    v.push_back("<t>1");
    out.piece_lt_t_gt_z = rr::token_id(v.size());
    v.push_back("<t>z");
    out.control = rr::token_id(v.size());
    v.push_back("");
    out.eos = rr::token_id(v.size());
    v.push_back("</s>");
    out.trie =
        std::make_shared<const rr::token_trie>(std::move(v), std::vector<rr::token_id>{out.eos});
    return out;
}

std::vector<std::int32_t> bytes(std::string_view s) {
    std::vector<std::int32_t> ids;
    for (char c : s) {
        ids.push_back(static_cast<unsigned char>(c));
    }
    return ids;
}

// Which ids the processor leaves allowed after `generated`.
std::vector<bool> allowed(rr::grammar_processor& p, const std::vector<std::int32_t>& generated,
                          std::size_t n) {
    std::vector<float> logits(n, 0.0f);
    p.process(generated, logits);
    std::vector<bool> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        out[i] = !std::isinf(logits[i]);
    }
    return out;
}

const char* tagged = R"(root ::= "<t>" [0-9]+ "</t>")";

TEST(grammar_lazy, free_until_the_trigger_then_the_grammar_from_its_first_byte) {
    const auto v = make_vocab();
    const std::size_t n = v.trie->vocab_size();
    rr::grammar_processor lazy(rr::grammar::parse(tagged), v.trie, {}, {{"<t>", false}});
    auto out = bytes("hello <t");
    for (std::size_t k = 0; k <= out.size(); ++k) {
        std::vector<std::int32_t> head(out.begin(), out.begin() + std::ptrdiff_t(k));
        const auto a = allowed(lazy, head, n);
        EXPECT_EQ(std::count(a.begin(), a.end(), true), std::ptrdiff_t(n)) << k; // nothing masked
        EXPECT_FALSE(lazy.done(head));
        EXPECT_FALSE(lazy.active());
    }
    out.push_back('>');
    rr::grammar_processor plain(rr::grammar::parse(tagged), v.trie);
    EXPECT_EQ(allowed(lazy, out, n), allowed(plain, bytes("<t>"), n));
    EXPECT_TRUE(lazy.active());
    EXPECT_FALSE(allowed(lazy, out, n)[std::size_t(v.eos)]);
    for (char c : std::string("42</t")) {
        out.push_back(c);
        EXPECT_FALSE(lazy.done(out));
    }
    out.push_back('>');
    EXPECT_TRUE(lazy.done(out)); // complete, nothing may follow
}

TEST(grammar_lazy, a_trigger_across_tokens_and_inside_one) {
    const auto v = make_vocab();
    const std::size_t n = v.trie->vocab_size();
    rr::grammar_processor plain(rr::grammar::parse(tagged), v.trie);
    // "ax<t" + ">": the trigger ends a token later than it starts.
    rr::grammar_processor a(rr::grammar::parse(tagged), v.trie, {}, {{"<t>", false}});
    std::vector<std::int32_t> out{'a', v.piece_x_lt_t, '>'};
    EXPECT_EQ(allowed(a, out, n), allowed(plain, bytes("<t>"), n));
    // "<t>1" in one token: the digit after the trigger is fed too.
    rr::grammar_processor b(rr::grammar::parse(tagged), v.trie, {}, {{"<t>", false}});
    std::vector<std::int32_t> out_b{' ', v.piece_lt_t_gt_1};
    EXPECT_EQ(allowed(b, out_b, n), allowed(plain, bytes("<t>1"), n));
    EXPECT_TRUE(b.active());
    // "<t>z": the rest of the token cannot continue the grammar: free for good.
    rr::grammar_processor c(rr::grammar::parse(tagged), v.trie, {}, {{"<t>", false}});
    std::vector<std::int32_t> out_c{v.piece_lt_t_gt_z};
    const auto all = allowed(c, out_c, n);
    EXPECT_EQ(std::count(all.begin(), all.end(), true), std::ptrdiff_t(n));
    EXPECT_FALSE(c.active());
    for (char ch : std::string("<t>1</t>")) {
        out_c.push_back(static_cast<unsigned char>(ch));
    }
    EXPECT_FALSE(c.done(out_c));
    EXPECT_FALSE(c.active());
}

TEST(grammar_lazy, an_at_start_trigger_counts_only_as_the_first_text) {
    const auto v = make_vocab();
    const std::size_t n = v.trie->vocab_size();
    const char* object = R"(root ::= "{" [a-z]* "}")";
    rr::grammar_processor plain(rr::grammar::parse(object), v.trie);
    rr::grammar_processor start(rr::grammar::parse(object), v.trie, {}, {{"{", true}});
    EXPECT_EQ(allowed(start, bytes(" \n{"), n), allowed(plain, bytes("{"), n));
    EXPECT_TRUE(start.active());
    rr::grammar_processor later(rr::grammar::parse(object), v.trie, {}, {{"{", true}});
    allowed(later, bytes("a {"), n);
    EXPECT_FALSE(later.active());
    // A shorter span is a new sequence: waiting again, then triggered again.
    allowed(later, bytes("{"), n);
    EXPECT_TRUE(later.active());
}

TEST(grammar_lazy, preserved_control_tokens_match_as_their_text) {
    const auto v = make_vocab();
    const std::size_t n = v.trie->vocab_size();
    const char* marked = R"(root ::= "[C]" [0-9])";
    // Without it the control token is never allowed; with it, where "[C]" fits.
    rr::grammar_processor hidden(rr::grammar::parse(marked), v.trie);
    EXPECT_FALSE(allowed(hidden, {}, n)[std::size_t(v.control)]);
    rr::grammar_processor shown(rr::grammar::parse(marked), v.trie, {{v.control, "[C]"}});
    auto a = allowed(shown, {}, n);
    EXPECT_TRUE(a[std::size_t(v.control)]);
    EXPECT_TRUE(a['[']); // spelled out byte by byte also fits
    std::vector<std::int32_t> out{v.control};
    a = allowed(shown, out, n);
    EXPECT_FALSE(a[std::size_t(v.control)]);
    EXPECT_TRUE(a['7']);
    out.push_back('7');
    EXPECT_TRUE(shown.done(out));
    // As a lazy trigger: the control token starts the grammar.
    rr::grammar_processor lazy(rr::grammar::parse(marked), v.trie, {{v.control, "[C]"}},
                               {{"[C]", false}});
    std::vector<std::int32_t> text{'o', 'k', ' ', v.control};
    EXPECT_EQ(allowed(lazy, text, n), allowed(shown, {v.control}, n));
}

} // namespace
