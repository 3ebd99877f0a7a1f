// The models in shared/testdata reproduce what llama.cpp generated from them:
// prompt ids exactly, and the completion token for token except at
// near-ties. The history is llama.cpp's own tokens (teacher forcing), so
// every position is judged on the same context, also after a near-tie
// where the two runtimes could have parted ways. A near-tie is a position
// where either runtime's top two log-probabilities are close: llama.cpp's
// recorded gap below 0.01 (where its list lines up with the tokens), or
// ours below 0.1 (F16 versus F32 KV alone moves a gap by up to ~0.08 on the
// 800-token prompt); there the two may legitimately pick differently.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/forward.hpp"
#include "runtime/sampler.hpp"
#include "runtime/tokenizer.hpp"

namespace rr = radixrt::runtime;

namespace {

constexpr double our_tie = 0.1, their_tie = 0.01;

void check_model(const std::string& name, rr::kv_type kv_type = rr::kv_type::f16) {
    const std::string dir = std::string(RADIXRT_TESTDATA_DIR) + "/models/";
    std::ifstream f(dir + name + ".golden.json");
    ASSERT_TRUE(f) << "missing golden file for " << name;
    const auto golden = nlohmann::json::parse(f);
    auto m = rr::model::load(dir + name + ".gguf");
    auto tok = rr::tokenizer::from_gguf(m->file());
    rr::forward_pass fwd(m);
    int compared = 0;
    for (const auto& c : golden["cases"]) {
        // From text: the tokenizer reproduces llama.cpp's prompt ids; from
        // ids: the model runs on llama.cpp's ids either way.
        const auto prompt = c["prompt_ids"].get<std::vector<rr::token_id>>();
        EXPECT_EQ(tok.encode(c["prompt"].get<std::string>(), true), prompt) << c["prompt"];
        const auto want = c["completion_ids"].get<std::vector<rr::token_id>>();
        const auto gaps = c["top2_logprob_gap"].get<std::vector<double>>();
        // llama.cpp reports one gap per piece of text; with byte tokens that
        // form one character that is fewer than the tokens, and the list no
        // longer lines up: then only our own gaps are used.
        const bool aligned = gaps.size() == want.size();
        const std::size_t total = prompt.size() + want.size();
        rr::kv_storage kv(m->config(), (total + 15) / 16, 16, kv_type);
        std::vector<rr::block_id> table;
        for (std::size_t b = 0; b < kv.n_blocks(); ++b) {
            table.push_back(rr::block_id(std::int32_t(b)));
        }
        std::span<const float> logits;
        for (std::size_t done = 0; done < prompt.size(); done += 512) {
            const auto part =
                std::span(prompt).subspan(done, std::min<std::size_t>(512, prompt.size() - done));
            const rr::seq_step s{part, done, table, false};
            logits = fwd.run({&s, 1}, kv);
        }
        for (std::size_t i = 0; i < want.size(); ++i) {
            const auto top = rr::top_logprobs(logits, 2, rr::log_sum_exp(logits));
            const double ours = top[0].logprob - top[1].logprob;
            // At a near-tie the two may pick differently; the history stays
            // llama.cpp's, so the positions after it are judged as before.
            if (ours >= our_tie && !(aligned && gaps[i] < their_tie)) {
                ASSERT_EQ(top[0].token, want[i])
                    << name << " '" << c["prompt"].get<std::string>().substr(0, 40) << "' position "
                    << i << " (our gap " << ours << ")";
                ++compared;
            }
            const rr::token_id next = want[i];
            const rr::seq_step s{std::span(&next, 1), prompt.size() + i, table, false};
            logits = fwd.run({&s, 1}, kv);
        }
    }
    // The comparison really covered generated tokens. Random models have
    // near-ties; tiny-qwen2 (dim 64, a 50k vocabulary: flat distributions)
    // has the fewest positions clear of them, 46 of 128.
    EXPECT_GE(compared, 40) << name;
}

} // namespace

TEST(golden, tiny_spm_f16_matches_llama_cpp) {
    check_model("tiny-spm-f16");
}
TEST(golden, tiny_spm_q8_0_matches_llama_cpp) {
    check_model("tiny-spm-q8_0");
}
TEST(golden, f32_kv_matches_too) {
    check_model("tiny-spm-f16", rr::kv_type::f32);
    check_model("small-q4_k_m", rr::kv_type::f32);
}
// llama.cpp's own quantizations of one F16 model (llama-quantize), and the
// F16 original: every type reproduces llama.cpp's greedy tokens.
TEST(golden, small_f16_matches_llama_cpp) {
    check_model("small-f16");
}
TEST(golden, small_q8_0_matches_llama_cpp) {
    check_model("small-q8_0");
}
TEST(golden, small_q4_0_matches_llama_cpp) {
    check_model("small-q4_0");
}
TEST(golden, small_q4_k_m_matches_llama_cpp) {
    check_model("small-q4_k_m");
}
TEST(golden, small_q5_k_m_matches_llama_cpp) {
    check_model("small-q5_k_m");
}
TEST(golden, small_q6_k_matches_llama_cpp) {
    check_model("small-q6_k");
}

// The other architectures (synthetic weights written by gguf-py).
TEST(golden, tiny_qwen2_f16_matches_llama_cpp) {
    check_model("tiny-qwen2-f16");
}
TEST(golden, tiny_phi3_f16_matches_llama_cpp) {
    check_model("tiny-phi3-f16");
}
TEST(golden, tiny_gemma2_f16_matches_llama_cpp) {
    check_model("tiny-gemma2-f16");
}
TEST(golden, gemma2_with_f32_kv_matches_too) {
    check_model("tiny-gemma2-f16", rr::kv_type::f32);
}
