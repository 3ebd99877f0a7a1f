#include "runtime/grammar_mask.hpp"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "runtime/grammar_processor.hpp"

namespace rr = radixrt::runtime;

namespace {

const char* json_grammar = R"g(root ::= object
value ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws ( member ( "," ws member )* )? "}" ws
member ::= string ":" ws value
array ::= "[" ws ( value ( "," ws value )* )? "]" ws
string ::= "\"" ( [^"\\\x00-\x1f] | "\\" ["\\/bfnrt] | "\\u" [0-9a-fA-F]{4} )* "\"" ws
number ::= "-"? ( "0" | [1-9] [0-9]{0,15} ) ( "." [0-9]+ )? ( [eE] [-+]? [0-9]+ )? ws
ws ::= [ \t\n]{0,20})g";

// The reference: try every token on a copy of the state.
rr::token_mask brute_force(const rr::grammar_matcher& m, const rr::token_trie& trie) {
    rr::token_mask mask;
    mask.reset(trie.vocab_size());
    for (std::size_t id = 0; id < trie.vocab_size(); ++id) {
        if (trie.is_end(rr::token_id(id))) {
            if (m.is_complete()) {
                mask.set(id);
            }
            continue;
        }
        const auto& b = trie.bytes(rr::token_id(id));
        rr::grammar_matcher copy = m;
        if (!b.empty() && copy.accept_bytes(b)) {
            mask.set(id);
        }
    }
    return mask;
}

// Every byte alone, common pieces of JSON, multi-byte characters whole and
// cut, a control token (empty) and an end token.
std::shared_ptr<const rr::token_trie> small_vocab() {
    std::vector<std::string> v;
    for (int b = 0; b < 256; ++b) {
        v.push_back(std::string(1, char(b)));
    }
    for (const char* s : {"{", "{\"", "\":", "\": \"", "\",", "\"}", "}", "true", "false", "null",
                          "nu", "ll", "12", "0.", "e+", "-1", "\\u00", "\\n", "é", "日本", "😀",
                          "\xF0\x9F", "\x98\x80", "a", "ab", "abc", "[", "[]", "],", " ", "\n  ",
                          "{\"a\": 1}", "\"\"", ",\"", "ws", "x\"", "\"x"}) {
        v.push_back(s);
    }
    v.push_back("");       // control
    v.push_back("<eos>");  // end id below
    const auto eos = rr::token_id(v.size() - 1);
    return std::make_shared<const rr::token_trie>(std::move(v), std::vector<rr::token_id>{eos});
}

// Random walks: at each step pick a random allowed non-end token.
void check_random_walks(const std::shared_ptr<const rr::grammar>& g, const rr::token_trie& trie,
                        int walks, int steps, std::uint32_t seed) {
    std::mt19937 rng(seed);
    rr::mask_scratch scratch;
    for (int w = 0; w < walks; ++w) {
        rr::grammar_matcher m(g);
        std::string text;
        for (int s = 0; s < steps; ++s) {
            rr::token_mask fast;
            rr::fill_token_mask(m, trie, fast, scratch);
            const auto ref = brute_force(m, trie);
            ASSERT_EQ(fast.words, ref.words) << "walk " << w << " step " << s << " after " << text;
            std::vector<std::size_t> allowed;
            for (std::size_t id = 0; id < trie.vocab_size(); ++id) {
                if (fast.test(id) && !trie.is_end(rr::token_id(id))) {
                    allowed.push_back(id);
                }
            }
            if (allowed.empty()) {
                break;
            }
            const auto pick = allowed[rng() % allowed.size()];
            ASSERT_TRUE(m.accept_bytes(trie.bytes(rr::token_id(pick))));
            text += trie.bytes(rr::token_id(pick));
        }
    }
}

const rr::tokenizer& qwen2_tokenizer() {
    static const auto tok = rr::tokenizer::from_gguf(
        rr::gguf_file::open(std::string(RADIXRT_TESTDATA_DIR) + "/vocab/ggml-vocab-qwen2.gguf"));
    return tok;
}

std::shared_ptr<const rr::token_trie> qwen2() {
    static const auto trie = rr::token_trie::from_tokenizer(qwen2_tokenizer());
    return trie;
}

} // namespace

TEST(token_trie, layout) {
    rr::token_trie t({"ab", "a", "b", "", "ab", "abc"}, {3});
    EXPECT_EQ(t.nodes().size(), 5u); // root, a, ab, abc, b
    EXPECT_EQ(t.nodes()[0].skip, 5u);
    EXPECT_EQ(t.nodes()[1].skip, 4u); // a's subtree: a, ab, abc
    EXPECT_EQ(t.nodes()[2].tok_end - t.nodes()[2].tok_begin, 2u); // "ab" twice
    EXPECT_TRUE(t.is_end(3));
    EXPECT_EQ(t.max_depth(), 3u);
}

TEST(grammar_mask, equals_brute_force_on_a_small_vocabulary) {
    const auto trie = small_vocab();
    check_random_walks(rr::grammar::parse(json_grammar), *trie, 30, 40, 1);
    check_random_walks(rr::grammar::parse("root ::= [0-9]{1,3} (\"é\" | \"日本\" | [😀-😂])* \"x\"?"),
                       *trie, 30, 12, 2);
    check_random_walks(rr::grammar::parse("root ::= (\"ab\" | \"a\" \"bc\"?)+ ws\nws ::= \" \"?"),
                       *trie, 30, 12, 3);
}

// Random tokens (ASCII-heavy, some multi-byte and invalid UTF-8) make
// subtrees big enough for the trie's summaries, so whole-subtree skips run.
TEST(grammar_mask, equals_brute_force_with_subtree_skips) {
    std::mt19937 rng(5);
    const std::string alphabet = "ab\"\\{}[]:, 0123\n";
    std::vector<std::string> v;
    for (int b = 0; b < 256; ++b) {
        v.push_back(std::string(1, char(b)));
    }
    for (int i = 0; i < 4000; ++i) {
        std::string t;
        const std::size_t n = 1 + rng() % 6;
        const bool plain = rng() % 2 == 0; // letters only: subtrees a string state loops on
        for (std::size_t k = 0; k < n; ++k) {
            const auto r = rng() % 20;
            if (r < 14) {
                t += plain ? char('a' + rng() % 6) : alphabet[rng() % alphabet.size()];
            } else if (r < 17) {
                t += rng() % 2 ? "é" : "日";
            } else if (r < 19) {
                t += "\xF0\x9F\x98\x80"; // 😀
                t.resize(t.size() - rng() % 3); // sometimes cut short
            } else {
                t += char(0x80 + rng() % 0x80); // often invalid
            }
        }
        v.push_back(t);
    }
    v.push_back("");
    const auto eos = rr::token_id(v.size() - 1);
    const rr::token_trie trie(std::move(v), {eos});
    std::size_t summarized = 0;
    for (const auto& n : trie.nodes()) {
        summarized += n.summary != 0xFFFFFFFFu;
    }
    ASSERT_GT(summarized, 10u);
    check_random_walks(rr::grammar::parse(json_grammar), trie, 20, 40, 11);
    check_random_walks(rr::grammar::parse("root ::= \"[\" [^\\]]* \"]\""), trie, 10, 20, 12);
}

TEST(grammar_mask, end_token_only_when_complete) {
    const auto trie = small_vocab();
    const auto eos = trie->end_ids().front();
    rr::grammar_matcher m(rr::grammar::parse("root ::= \"null\""));
    rr::token_mask mask;
    rr::mask_scratch scratch;
    rr::fill_token_mask(m, *trie, mask, scratch);
    EXPECT_FALSE(mask.test(std::size_t(eos)));
    EXPECT_TRUE(mask.test(256 + 9)); // "null": the 10th piece after the bytes
    ASSERT_TRUE(m.accept_bytes("null"));
    rr::fill_token_mask(m, *trie, mask, scratch);
    EXPECT_TRUE(mask.test(std::size_t(eos)));
    EXPECT_EQ(mask.count(), 1u);
}

TEST(grammar_mask, real_bpe_vocabulary) {
    const auto trie = qwen2();
    ASSERT_GT(trie->vocab_size(), 150000u);
    const auto g = rr::grammar::parse(json_grammar);
    rr::mask_scratch scratch;
    for (const char* prefix : {"", "{\"", "{\"name\": \"Jo", "{\"n\": 12", "{\"a\": [tr",
                               "{\"a\": \"\xE6\x97", "{\"a\": \"x\\", "{\"a\": \"\\u00",
                               "{\"a\": \"x\"  "}) {
        rr::grammar_matcher m(g);
        ASSERT_TRUE(m.accept_bytes(prefix)) << prefix;
        rr::token_mask fast;
        rr::fill_token_mask(m, *trie, fast, scratch);
        EXPECT_EQ(fast.words, brute_force(m, *trie).words) << prefix;
        EXPECT_GT(fast.count(), 0u) << prefix;
    }
}

TEST(grammar_processor, masks_and_catches_up) {
    const auto trie = small_vocab();
    const auto eos = trie->end_ids().front();
    rr::grammar_processor p(rr::grammar::parse("root ::= \"ab\" \"c\"?"), trie);
    std::vector<float> logits(trie->vocab_size() + 3, 0.0f); // padded rows stay masked
    std::vector<std::int32_t> generated;
    p.process(generated, logits);
    EXPECT_EQ(logits['a'], 0.0f);
    EXPECT_TRUE(std::isinf(logits['b']));
    EXPECT_TRUE(std::isinf(logits.back()));
    EXPECT_TRUE(std::isinf(logits[std::size_t(eos)]));
    generated.push_back('a');
    generated.push_back('b'); // two tokens at once: as after a preemption
    std::fill(logits.begin(), logits.end(), 0.0f);
    p.process(generated, logits);
    EXPECT_TRUE(p.is_complete());
    EXPECT_EQ(logits['c'], 0.0f);
    EXPECT_EQ(logits[std::size_t(eos)], 0.0f);
    EXPECT_TRUE(std::isinf(logits['a']));
    generated.push_back(eos);
    EXPECT_NO_THROW(p.process(generated, logits));
    generated.push_back('x');
    EXPECT_THROW(p.process(generated, logits), std::invalid_argument);
    // A fresh sequence (shorter span) starts the matcher again.
    std::vector<std::int32_t> again{'a'};
    std::fill(logits.begin(), logits.end(), 0.0f);
    p.process(again, logits);
    EXPECT_FALSE(p.is_complete());
    EXPECT_EQ(logits['b'], 0.0f);
}

// The processor reuses the mask of a state it has seen (inside a string
// every character leads back to the same state); what it applies always
// equals a freshly computed mask.
TEST(grammar_processor, reused_masks_equal_fresh_ones) {
    const auto trie = small_vocab();
    rr::grammar_processor p(rr::grammar::parse(json_grammar), trie);
    const std::string doc = "{\"ab\": \"abcabc\u00e9x\", \"a\": [12, \"x\"], \"ws\": \"\"}";
    std::vector<std::int32_t> generated;
    rr::token_mask fresh;
    rr::mask_scratch scratch;
    for (std::size_t i = 0; i <= doc.size(); ++i) {
        std::vector<float> logits(trie->vocab_size(), 0.0f);
        p.process(generated, logits);
        rr::fill_token_mask(p.matcher(), *trie, fresh, scratch);
        for (std::size_t id = 0; id < logits.size(); ++id) {
            ASSERT_EQ(std::isinf(logits[id]), !fresh.test(id)) << doc.substr(0, i) << " token " << id;
        }
        if (i < doc.size()) {
            generated.push_back(static_cast<unsigned char>(doc[i])); // byte tokens: id = byte
        }
    }
    EXPECT_TRUE(p.is_complete());
    EXPECT_GT(p.masks_reused(), 5u);
    EXPECT_EQ(p.masks_computed() + p.masks_reused(), doc.size() + 1);
}

// done: complete and nothing may follow, or an end token at completion;
// a complete grammar that may still continue is not done.
TEST(grammar_processor, done_when_complete_and_final) {
    const auto trie = small_vocab();
    const auto eos = trie->end_ids().front();
    rr::grammar_processor p(rr::grammar::parse("root ::= \"ab\" \"c\"?"), trie);
    std::vector<std::int32_t> generated{'a'};
    EXPECT_FALSE(p.done(generated));
    generated.push_back('b');
    EXPECT_FALSE(p.done(generated)); // complete, but "c" may follow
    EXPECT_TRUE(p.is_complete());
    generated.push_back('c');
    EXPECT_TRUE(p.done(generated)); // complete and final
    rr::grammar_processor q(rr::grammar::parse("root ::= \"ab\" \"c\"?"), trie);
    std::vector<std::int32_t> ended{'a', 'b', eos};
    EXPECT_TRUE(q.done(ended)); // EOS where the grammar is complete
    std::vector<std::int32_t> wrong{'x'};
    EXPECT_THROW(q.done(wrong), std::invalid_argument);
}

// The tokenizer's own tokens for a valid document pass the processor's
// mask one by one, and EOS is allowed only at the end.
TEST(grammar_processor, real_tokens_of_a_valid_document) {
    const auto& tok = qwen2_tokenizer();
    const auto trie = qwen2();
    const std::string doc = "{\"name\": \"Zoë 日本語 😀\", \"n\": [1, -2.5e3, true, null],\n \"o\": {}}";
    const auto ids = tok.encode(doc, false);
    rr::grammar_processor p(rr::grammar::parse(json_grammar), trie);
    std::vector<float> logits(trie->vocab_size());
    std::vector<std::int32_t> generated;
    for (const auto id : ids) {
        std::fill(logits.begin(), logits.end(), 0.0f);
        p.process(generated, logits);
        ASSERT_EQ(logits[std::size_t(id)], 0.0f) << "token " << id << " after " << generated.size();
        EXPECT_TRUE(std::isinf(logits[std::size_t(tok.eos())]));
        generated.push_back(id);
    }
    std::fill(logits.begin(), logits.end(), 0.0f);
    p.process(generated, logits);
    EXPECT_TRUE(p.is_complete());
    EXPECT_EQ(logits[std::size_t(tok.eos())], 0.0f);
}
