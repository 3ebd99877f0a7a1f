#include "runtime/bpe_tokenizer.hpp"

#include <fstream>
#include <iterator>
#include <random>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/tokenizer.hpp"
#include "runtime/unicode.hpp"

namespace rr = radixrt::runtime;

namespace {
const std::string testdata = std::string(RADIXRT_TESTDATA_DIR);
const std::string vocab_dir = testdata + "/vocab/";

std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// One tokenizer per vocabulary file for the whole run (loading takes a while).
const rr::tokenizer& vocab(const std::string& name) {
    static std::map<std::string, rr::tokenizer> loaded;
    auto it = loaded.find(name);
    if (it == loaded.end()) {
        const auto f = rr::gguf_file::open(vocab_dir + "ggml-vocab-" + name + ".gguf");
        it = loaded.emplace(name, rr::tokenizer::from_gguf(f)).first;
    }
    return it->second;
}

struct vectors {
    std::vector<std::string> inputs;
    std::vector<std::vector<rr::token_id>> ids;
};

// llama.cpp's test vectors: inputs split on "\n__ggml_vocab_test__\n" (the
// empty piece after the last separator is no test), ids on the line of the
// same index.
vectors read_vectors(const std::string& name) {
    vectors v;
    const std::string inp = slurp(vocab_dir + "ggml-vocab-" + name + ".gguf.inp");
    const std::string sep = "\n__ggml_vocab_test__\n";
    for (std::size_t pos = 0;;) {
        const auto hit = inp.find(sep, pos);
        if (hit == std::string::npos) {
            break;
        }
        v.inputs.push_back(inp.substr(pos, hit - pos));
        pos = hit + sep.size();
    }
    std::ifstream out(vocab_dir + "ggml-vocab-" + name + ".gguf.out");
    for (std::string line; std::getline(out, line);) {
        std::istringstream ls(line);
        v.ids.emplace_back(std::istream_iterator<rr::token_id>(ls),
                           std::istream_iterator<rr::token_id>());
    }
    return v;
}

class bpe_vectors : public ::testing::TestWithParam<std::string> {};

} // namespace

TEST_P(bpe_vectors, match_llama_cpp) {
    const auto& tok = vocab(GetParam());
    ASSERT_TRUE(tok.byte_level());
    const vectors v = read_vectors(GetParam());
    ASSERT_EQ(v.inputs.size(), 46u);
    ASSERT_GE(v.ids.size(), v.inputs.size());
    for (std::size_t i = 0; i < v.inputs.size(); ++i) {
        EXPECT_EQ(tok.encode(v.inputs[i], false), v.ids[i])
            << GetParam() << " case " << i << ": '" << v.inputs[i] << "'";
    }
}

TEST_P(bpe_vectors, decode_inverts_encode) {
    const auto& tok = vocab(GetParam());
    for (const std::string& text : read_vectors(GetParam()).inputs) {
        EXPECT_EQ(tok.decode(tok.encode(text, false)), text);
    }
}

// Random valid UTF-8 from a mix of ASCII, whitespace, Latin, Cyrillic, CJK,
// Hangul, combining marks, emoji and unassigned code points.
TEST_P(bpe_vectors, random_utf8_round_trips) {
    const auto& tok = vocab(GetParam());
    std::mt19937 rng(1234);
    const char32_t pools[][2] = {{0x20, 0x7e},       {0x09, 0x0d},     {0xa0, 0x24f},
                                 {0x400, 0x4ff},     {0x300, 0x36f},   {0x4e00, 0x9fff},
                                 {0xac00, 0xd7a3},   {0x3000, 0x303f}, {0x1f300, 0x1faff},
                                 {0xe0000, 0xe01ef}, {0x2000, 0x206f}, {0x30, 0x39}};
    for (int round = 0; round < 200; ++round) {
        std::string text;
        const int len = int(rng() % 60);
        for (int i = 0; i < len; ++i) {
            const auto& pool = pools[rng() % std::size(pools)];
            rr::detail::utf8_append(text, pool[0] + char32_t(rng() % (pool[1] - pool[0] + 1)));
        }
        EXPECT_EQ(tok.decode(tok.encode(text, false)), text) << "round " << round;
    }
}

// Long inputs finish (merging is n log n, not quadratic): one 100k-character
// word, and 100k characters of digits, CJK and spaces.
TEST_P(bpe_vectors, long_inputs_complete) {
    const auto& tok = vocab(GetParam());
    const std::string word(100000, 'a');
    const auto ids = tok.encode(word, false);
    EXPECT_LT(ids.size(), word.size());
    EXPECT_EQ(tok.decode(ids), word);
    std::string mixed;
    for (int i = 0; i < 25000; ++i) {
        mixed += i % 7 == 0 ? " " : i % 3 == 0 ? "\xe4\xb8\xad" : "7";
    }
    EXPECT_EQ(tok.decode(tok.encode(mixed, false)), mixed);
}

INSTANTIATE_TEST_SUITE_P(vocabularies, bpe_vectors,
                         ::testing::Values("gpt-2", "starcoder", "deepseek-coder", "qwen2"));

TEST(bpe_tokenizer, metadata_as_llama_cpp_reads_it) {
    const auto& gpt2 = vocab("gpt-2");
    EXPECT_EQ(gpt2.bos(), 50256);
    EXPECT_EQ(gpt2.eos(), 50256);
    EXPECT_FALSE(gpt2.add_bos()); // not set: false for gpt-2
    EXPECT_TRUE(gpt2.is_eog(50256));
    EXPECT_EQ(gpt2.piece(50256), ""); // control
    const auto& ds = vocab("deepseek-coder");
    EXPECT_TRUE(ds.add_bos());
    EXPECT_EQ(ds.encode("a", true).front(), ds.bos());
    const auto& qwen = vocab("qwen2");
    EXPECT_FALSE(qwen.add_bos());
    EXPECT_TRUE(qwen.is_eog(151645)); // <|im_end|>, eos_token_id
    EXPECT_TRUE(qwen.is_eog(151643)); // <|endoftext|>, by its text
    EXPECT_FALSE(qwen.is_eog(151644));
}

TEST(bpe_tokenizer, special_tokens) {
    const auto& qwen = vocab("qwen2");
    const std::string text = "<|im_start|>user\nhi<|im_end|>";
    const auto parsed = qwen.encode(text, false, true);
    ASSERT_GE(parsed.size(), 3u);
    EXPECT_EQ(parsed.front(), 151644);
    EXPECT_EQ(parsed.back(), 151645);
    const auto plain = qwen.encode(text, false, false);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), 151644), 0);
    EXPECT_EQ(qwen.decode(plain), text);
    EXPECT_EQ(qwen.decode(parsed), "user\nhi"); // control tokens print as nothing
    // User-defined tokens are split off even without parse_special, and
    // print as their text.
    const auto think = qwen.encode("a<think>b", false, false);
    ASSERT_EQ(think.size(), 3u);
    EXPECT_EQ(think[1], 151667);
    EXPECT_EQ(qwen.decode(think), "a<think>b");
}

TEST(bpe_tokenizer, unknown_pre_tokenizer_is_named) {
    rr::gguf_writer w;
    w.add("tokenizer.ggml.model", std::string("gpt2"));
    w.add("tokenizer.ggml.pre", std::string("no-such-pre"));
    rr::gguf_array toks;
    toks.elem = rr::gguf_type::string;
    toks.strings = {"a", "b", "ab"};
    w.add("tokenizer.ggml.tokens", toks);
    rr::gguf_array merges = toks;
    merges.strings = {"a b"};
    w.add("tokenizer.ggml.merges", merges);
    try {
        rr::tokenizer::from_gguf(rr::gguf_file::from_bytes(w.bytes()));
        FAIL() << "unknown pre-tokenizer accepted";
    } catch (const rr::gguf_error& e) {
        EXPECT_NE(std::string(e.what()).find("no-such-pre"), std::string::npos) << e.what();
    }
}

TEST(bpe_tokenizer, tiny_vocab_merges_by_rank) {
    // "a b" (rank 0) before "b c" (rank 1): "abc" -> "ab" "c"; a missing
    // pre-tokenizer falls back to "default".
    rr::gguf_writer w;
    w.add("tokenizer.ggml.model", std::string("gpt2"));
    rr::gguf_array toks;
    toks.elem = rr::gguf_type::string;
    toks.strings = {"a", "b", "c", "ab", "bc", "abc"};
    w.add("tokenizer.ggml.tokens", toks);
    rr::gguf_array merges = toks;
    merges.strings = {"a b", "b c", "ab c"};
    w.add("tokenizer.ggml.merges", merges);
    const auto tok = rr::tokenizer::from_gguf(rr::gguf_file::from_bytes(w.bytes()));
    EXPECT_EQ(tok.encode("abc", false), (std::vector<rr::token_id>{5}));
    EXPECT_EQ(tok.encode("bca", false), (std::vector<rr::token_id>{4, 0}));
}

// The prompts of the golden files encode to llama.cpp's prompt ids (BOS as
// each vocabulary says): tiny-qwen2 has the GPT-2 vocabulary, tiny-phi3 and
// tiny-gemma2 the small SentencePiece one.
TEST(bpe_tokenizer, golden_prompts_match_llama_cpp) {
    for (const std::string name : {"tiny-qwen2-f16", "tiny-phi3-f16", "tiny-gemma2-f16"}) {
        const std::string dir = testdata + "/models/";
        std::ifstream f(dir + name + ".golden.json");
        ASSERT_TRUE(f) << name;
        const auto golden = nlohmann::json::parse(f);
        const auto tok = rr::tokenizer::from_gguf(rr::gguf_file::open(dir + name + ".gguf"));
        EXPECT_EQ(tok.byte_level(), name == "tiny-qwen2-f16");
        for (const auto& c : golden["cases"]) {
            const auto text = c["prompt"].get<std::string>();
            EXPECT_EQ(tok.encode(text, true), c["prompt_ids"].get<std::vector<rr::token_id>>())
                << name << ": " << text.substr(0, 40);
            EXPECT_EQ(tok.decode(tok.encode(text, false)), tok.byte_level() ? text : " " + text);
        }
    }
}

TEST(unicode, categories_and_byte_mapping) {
    namespace d = rr::detail;
    EXPECT_EQ(d::class_of(d::unicode_flags('a')), d::ucat::letter);
    EXPECT_EQ(d::class_of(d::unicode_flags(0x4e2d)), d::ucat::letter); // 中
    EXPECT_EQ(d::class_of(d::unicode_flags('7')), d::ucat::number);
    EXPECT_EQ(d::class_of(d::unicode_flags(0x0663)), d::ucat::number); // Arabic-Indic 3
    EXPECT_EQ(d::class_of(d::unicode_flags(',')), d::ucat::punct);
    EXPECT_EQ(d::class_of(d::unicode_flags('$')), d::ucat::symbol);
    EXPECT_EQ(d::class_of(d::unicode_flags(0x0301)), d::ucat::mark);
    EXPECT_TRUE(d::unicode_flags(0x3000) & d::ws_flag);
    EXPECT_TRUE(d::unicode_flags(0x85) & d::ws_flag);
    EXPECT_FALSE(d::unicode_flags(0x200b) & d::ws_flag);
    for (int b = 0; b < 256; ++b) {
        EXPECT_EQ(d::cpt_to_byte(d::byte_to_cpt(std::uint8_t(b))), b);
    }
    EXPECT_EQ(d::byte_to_cpt(' '), 0x120u); // "Ġ"
    std::size_t pos = 0;
    EXPECT_EQ(d::utf8_decode("\xe4\xb8", pos), 0xfffdu); // truncated
    EXPECT_EQ(pos, 1u);
}
