#include "runtime/gguf.hpp"

#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "runtime/model.hpp"
#include "runtime/synthetic.hpp"
#include "runtime/tokenizer.hpp"

namespace rr = radixrt::runtime;

namespace {
const std::string models = std::string(RADIXRT_TESTDATA_DIR) + "/models/";

std::vector<char> read_all(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

// Parses an image and builds a model + tokenizer from it: either succeeds or
// throws gguf_error, never anything else (ASan watches for bad reads).
bool loads(std::vector<char> bytes) {
    try {
        auto f = rr::gguf_file::from_bytes(std::move(bytes));
        auto m = rr::model::from_gguf(f, "x");
        (void)rr::tokenizer::from_gguf(m->file());
        return true;
    } catch (const rr::gguf_error&) {
        return false;
    }
}
} // namespace

TEST(gguf, writer_reader_round_trip) {
    rr::gguf_writer w;
    w.add("a.u", std::uint64_t(7));
    w.add("a.big", std::uint64_t(1) << 40);
    w.add("a.i", std::int64_t(-3));
    w.add("a.f", 0.5);
    w.add("a.b", true);
    w.add("a.s", std::string("héllo"));
    w.add("a.arr", rr::gguf_array{rr::gguf_type::i32, {1, -2, 3}, {}, {}});
    w.add("a.strs", rr::gguf_array{rr::gguf_type::string, {}, {}, {"x", "", "yz"}});
    std::vector<char> data(3 * 5 * 4, 1);
    w.add_tensor("t", {3, 5}, 0, data);
    w.add_tensor("u", {32}, 8, std::vector<char>(34, 2));
    auto f = rr::gguf_file::from_bytes(w.bytes());
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.get_uint("a.u"), 7u);
    EXPECT_EQ(f.get_uint("a.big"), std::uint64_t(1) << 40);
    EXPECT_EQ(std::get<std::int64_t>(*f.find("a.i")), -3);
    EXPECT_EQ(f.get_float("a.f"), 0.5);
    EXPECT_EQ(std::get<bool>(*f.find("a.b")), true);
    EXPECT_EQ(f.get_string("a.s"), "héllo");
    EXPECT_EQ(f.get_array("a.arr")->ints, (std::vector<std::int64_t>{1, -2, 3}));
    EXPECT_EQ(f.get_array("a.strs")->strings, (std::vector<std::string>{"x", "", "yz"}));
    ASSERT_NE(f.tensor("t"), nullptr);
    EXPECT_EQ(f.tensor("t")->dims, (std::vector<std::uint64_t>{3, 5}));
    EXPECT_EQ(f.tensor("t")->bytes, 60u);
    EXPECT_EQ(static_cast<const char*>(f.tensor("u")->data)[33], 2);
    EXPECT_EQ(f.tensor("u")->offset % 32, 0u);
    EXPECT_THROW((void)f.get_string("a.u"), rr::gguf_error);
}

TEST(gguf, reads_llama_cpp_written_model) {
    auto f = rr::gguf_file::open(models + "tiny-spm-f16.gguf");
    EXPECT_EQ(f.get_string("general.architecture"), "llama");
    EXPECT_EQ(f.get_uint("llama.embedding_length"), 64u);
    EXPECT_EQ(f.get_uint("llama.block_count"), 2u);
    EXPECT_EQ(f.get_array("tokenizer.ggml.tokens")->size(), 32000u);
    auto m = rr::model::load(models + "tiny-spm-f16.gguf");
    const auto& c = m->config();
    EXPECT_EQ(c.n_heads, 4u);
    EXPECT_EQ(c.n_kv_heads, 2u);
    EXPECT_EQ(c.ffn_dim, 172u);
    EXPECT_EQ(c.vocab_size, 32000u);
    EXPECT_EQ(c.context_length, 512u);
    EXPECT_EQ(m->layers()[1].wk.type, radixrt::kernels::dtype::f16);
    auto q = rr::model::load(models + "tiny-spm-q8_0.gguf");
    EXPECT_EQ(q->layers()[0].w_up.type, radixrt::kernels::dtype::q8_0);
}

TEST(gguf, clear_errors_for_bad_files) {
    auto msg = [](const std::function<void()>& fn) {
        try {
            fn();
        } catch (const rr::gguf_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(msg([] { rr::model::load("/nonexistent.gguf"); }).find("cannot open"),
              std::string::npos);
    EXPECT_NE(msg([] {
                  rr::gguf_file::from_bytes({'G', 'G', 'M', 'L', 0, 0, 0, 0});
              }).find("bad magic"),
              std::string::npos);
    // The vocabulary-only file has no weights: the loader says which tensor is missing.
    EXPECT_NE(msg([] {
                  rr::model::load(std::string(RADIXRT_TESTDATA_DIR) +
                                  "/vocab/ggml-vocab-llama-spm.gguf");
              }).find("token_embd.weight"),
              std::string::npos);
    auto bytes = read_all(models + "tiny-spm-f16.gguf");
    bytes.resize(bytes.size() - 100);
    EXPECT_NE(msg([&] { rr::gguf_file::from_bytes(bytes); }).find("beyond the end"),
              std::string::npos);
    // An unsupported tensor type is named, with the supported list.
    rr::gguf_writer w;
    w.add("general.architecture", std::string("llama"));
    w.add("llama.embedding_length", std::uint64_t(32));
    w.add("llama.block_count", std::uint64_t(1));
    w.add("llama.attention.head_count", std::uint64_t(2));
    w.add("llama.feed_forward_length", std::uint64_t(32));
    w.add_tensor("token_embd.weight", {32, 4}, 24, std::vector<char>(4 * 32, 0)); // I8
    const auto unsupported =
        msg([&] { rr::model::from_gguf(rr::gguf_file::from_bytes(w.bytes()), "x"); });
    EXPECT_NE(unsupported.find("I8"), std::string::npos);
    EXPECT_NE(unsupported.find("Q4_K"), std::string::npos); // the list of what is supported
    rr::gguf_writer g;
    g.add("general.architecture", std::string("gpt2"));
    EXPECT_NE(
        msg([&] { rr::model::from_gguf(rr::gguf_file::from_bytes(g.bytes()), "x"); }).find("gpt2"),
        std::string::npos);
}

TEST(gguf, truncated_copies_never_crash) {
    auto spec = rr::synth_preset("tiny");
    spec.vocab_size = 300;
    const auto bytes = rr::synth_gguf(spec).bytes();
    ASSERT_TRUE(loads(bytes));
    std::mt19937 rng(1);
    std::vector<std::size_t> cuts = {0, 1, 4, 8, 16, 23, 24, 100, 1000};
    for (int i = 0; i < 300; ++i) {
        cuts.push_back(rng() % bytes.size());
    }
    for (std::size_t n : cuts) {
        EXPECT_FALSE(loads({bytes.begin(), bytes.begin() + std::ptrdiff_t(n)})) << n;
    }
}

TEST(gguf, bit_flipped_copies_never_crash) {
    auto spec = rr::synth_preset("tiny");
    spec.vocab_size = 300;
    const auto bytes = rr::synth_gguf(spec).bytes();
    // Flips land in the header, metadata and tensor infos (the first few KiB
    // of this file), the part where a flip can make the file lie.
    const std::size_t header_end = std::min<std::size_t>(bytes.size(), 8000);
    std::mt19937 rng(2);
    int failed = 0;
    for (int i = 0; i < 2000; ++i) {
        auto copy = bytes;
        const std::size_t pos = rng() % header_end;
        copy[pos] = char(copy[pos] ^ (1 << (rng() % 8)));
        failed += loads(std::move(copy)) ? 0 : 1;
    }
    EXPECT_GT(failed, 0); // some flips must be detected
}
