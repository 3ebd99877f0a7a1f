#pragma once
// Token sampling: logit bias, repetition / presence / frequency penalties,
// then greedy or temperature + top-k + top-p + min-p sampling from a
// per-request seeded generator, so a request draws the same tokens whether it
// runs alone or in a batch.
#include <cstdint>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/tokenizer.hpp"

namespace radixrt::runtime {

struct sampling_params {
    float temperature = 1.0f;        // <= 0: greedy
    std::size_t top_k = 0;           // 0: off
    float top_p = 1.0f;              // 1: off
    float min_p = 0.0f;              // 0: off
    float repetition_penalty = 1.0f; // over prompt and output (1: off)
    float presence_penalty = 0.0f;   // over output, OpenAI semantics
    float frequency_penalty = 0.0f;
    std::vector<std::pair<token_id, float>> logit_bias = {};
    std::uint64_t seed = 0;
};

/// A small, fully specified generator (xoshiro256**), identical everywhere.
class rng {
  public:
    explicit rng(std::uint64_t seed);
    std::uint64_t next();
    /// Uniform in [0, 1).
    double uniform() { return double(next() >> 11) * 0x1.0p-53; }

  private:
    std::uint64_t s_[4];
};

struct sampled {
    token_id id;
    float logprob; // log-probability of id under the final distribution (greedy: after penalties, T
                   // = 1)
};

class sampler {
  public:
    sampler(sampling_params params, std::span<const token_id> prompt);

    /// Picks the next token from logits (vocab) and records it for penalties.
    /// The logits are modified in place.
    sampled sample(std::span<float> logits);

    const sampling_params& params() const { return params_; }

  private:
    void apply_penalties(std::span<float> logits) const;

    sampling_params params_;
    rng rng_;
    std::unordered_map<token_id, std::uint32_t> prompt_counts_; // for the repetition penalty
    std::unordered_map<token_id, std::uint32_t> output_counts_;
    std::vector<std::pair<float, token_id>> candidates_;
};

} // namespace radixrt::runtime
