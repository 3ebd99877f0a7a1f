#include "runtime/tokenizer.hpp"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "runtime/synthetic.hpp"

namespace rr = radixrt::runtime;

namespace {
const std::string vocab_dir = std::string(RADIXRT_TESTDATA_DIR) + "/vocab/";

std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

rr::tokenizer spm() {
    return rr::tokenizer::from_gguf(rr::gguf_file::open(vocab_dir + "ggml-vocab-llama-spm.gguf"));
}
} // namespace

// llama.cpp's own test vectors: inputs split on "\n__ggml_vocab_test__\n", the
// expected ids on the line of the same index (no BOS, specials not parsed).
TEST(tokenizer, llama_spm_test_vectors) {
    const auto tok = spm();
    const std::string inp = slurp(vocab_dir + "ggml-vocab-llama-spm.gguf.inp");
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> cases;
    for (std::size_t pos = 0;;) {
        const auto hit = inp.find(sep, pos);
        if (hit == std::string::npos) {
            break;
        }
        cases.push_back(inp.substr(pos, hit - pos));
        pos = hit + sep.size();
    }
    std::ifstream out(vocab_dir + "ggml-vocab-llama-spm.gguf.out");
    std::vector<std::vector<rr::token_id>> want;
    for (std::string line; std::getline(out, line);) {
        std::istringstream ls(line);
        want.emplace_back(std::istream_iterator<rr::token_id>(ls),
                          std::istream_iterator<rr::token_id>());
    }
    ASSERT_EQ(cases.size(), 46u);
    ASSERT_GE(want.size(), cases.size());
    for (std::size_t i = 0; i < cases.size(); ++i) {
        EXPECT_EQ(tok.encode(cases[i], false), want[i]) << "case " << i << ": '" << cases[i] << "'";
    }
}

TEST(tokenizer, decode_inverts_encode_and_bos) {
    const auto tok = spm();
    const std::string text = "Hello world, привет 🦙 \t\nend";
    auto ids = tok.encode(text, true);
    ASSERT_EQ(ids.front(), tok.bos());
    // The decoded text carries the space prefix the encoder added.
    EXPECT_EQ(tok.decode(ids), " " + text);
    EXPECT_TRUE(tok.is_eog(tok.eos()));
}

TEST(tokenizer, parse_special_maps_control_texts) {
    const auto tok = spm();
    auto ids = tok.encode("a</s>b", false, true);
    EXPECT_NE(std::find(ids.begin(), ids.end(), tok.eos()), ids.end());
    auto plain = tok.encode("a</s>b", false, false);
    EXPECT_EQ(std::find(plain.begin(), plain.end(), tok.eos()), plain.end());
}

TEST(tokenizer, stream_decoder_never_splits_utf8) {
    const auto tok = spm();
    const std::string text = "日本語 🦙 café";
    auto ids = tok.encode(text, false);
    rr::stream_decoder dec(tok);
    std::string all;
    for (auto id : ids) {
        const std::string part = dec.push(id);
        EXPECT_EQ(rr::utf8_complete_prefix(part), part.size());
        all += part;
    }
    all += dec.flush();
    EXPECT_EQ(all, " " + text);
    EXPECT_EQ(rr::utf8_complete_prefix("ab\xe6\x97"), 2u);
    EXPECT_EQ(rr::utf8_complete_prefix("\xff"
                                       "a"),
              2u);
}

TEST(tokenizer, stream_decoder_replaces_invalid_bytes) {
    auto spec = rr::synth_preset("tiny");
    const auto tok =
        rr::tokenizer::from_gguf(rr::gguf_file::from_bytes(rr::synth_gguf(spec).bytes()));
    rr::stream_decoder dec(tok);
    auto byte = [&](unsigned char b) { return tok.encode(std::string(1, char(b)), false).at(0); };
    // a stray continuation byte, then a lead byte cut short by 'A', then "é" split over two tokens
    std::string out = dec.push(byte(0x80));
    out += dec.push(byte(0xc3));
    out += dec.push(byte('A'));
    out += dec.push(byte(0xc3));
    EXPECT_EQ(out, "\xef\xbf\xbd\xef\xbf\xbd"
                   "A");
    out += dec.push(byte(0xa9));
    EXPECT_EQ(out, "\xef\xbf\xbd\xef\xbf\xbd"
                   "A\xc3\xa9");
    EXPECT_EQ(dec.flush(), "");
}

TEST(tokenizer, byte_level_builtin_vocab_round_trips) {
    auto spec = rr::synth_preset("tiny");
    const auto f = rr::gguf_file::from_bytes(rr::synth_gguf(spec).bytes());
    const auto tok = rr::tokenizer::from_gguf(f);
    const std::string text = "any text, ünïcode ✓";
    auto ids = tok.encode(text, false);
    EXPECT_EQ(tok.decode(ids), text);
    EXPECT_EQ(ids.size(), text.size()); // one token per byte
}

TEST(tokenizer, unsupported_model_is_refused_clearly) {
    rr::gguf_writer w;
    w.add("tokenizer.ggml.model", std::string("bert"));
    try {
        rr::tokenizer::from_gguf(rr::gguf_file::from_bytes(w.bytes()));
        FAIL() << "bert accepted";
    } catch (const rr::gguf_error& e) {
        EXPECT_NE(std::string(e.what()).find("bert"), std::string::npos);
    }
}
