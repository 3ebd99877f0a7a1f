#pragma once
// Token sampling: logit bias, repetition / presence / frequency penalties,
// the request's logit processors, then greedy or temperature + top-k +
// top-p + min-p sampling from a per-request seeded generator, so a request
// draws the same tokens whether it runs alone or in a batch.
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "radixrt/request.hpp"
#include "runtime/tokenizer.hpp"

namespace radixrt::runtime {

using radixrt::sampling_params;

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
    token_id id = 0;
    float logprob = 0.0f; // log-softmax of the processed logits at T = 1 (see token_event)
    std::vector<token_logprob> top; // the top_logprobs most likely tokens, best first
    bool done = false;              // a logit processor says the output is finished with this token
};

/// Everything that turns one request's logits row into its next token. It
/// moves with the request's sequence into a forward step and back.
class sampler {
  public:
    sampler(sampling_params params, std::span<const token_id> prompt,
            std::vector<std::shared_ptr<logit_processor>> processors = {},
            std::size_t top_logprobs = 0);

    /// Picks the next token from logits (vocab), which it modifies in place,
    /// records it, and asks the logit processors whether it ends the output
    /// (sampled::done). Fails when a logit processor throws or every token
    /// is masked (the request ends then).
    expected<sampled> sample(std::span<float> logits);

    const sampling_params& params() const { return params_; }
    const std::vector<token_id>& generated() const { return generated_; }

  private:
    void apply_penalties(std::span<float> logits) const;
    token_id pick(std::span<const float> logits);

    sampling_params params_;
    rng rng_;
    std::vector<std::shared_ptr<logit_processor>> processors_;
    std::size_t top_logprobs_;
    std::unordered_map<token_id, std::uint32_t> prompt_counts_; // for the repetition penalty
    std::unordered_map<token_id, std::uint32_t> output_counts_;
    std::vector<token_id> generated_;
    std::vector<std::pair<float, token_id>> candidates_;
    std::vector<double> probs_;
};

/// The k largest entries of logits as (token, logit - log_z), best first
/// (ties: the lower id first). O(n log k).
std::vector<token_logprob> top_logprobs(std::span<const float> logits, std::size_t k, float log_z);

/// log(sum(exp(logits))), -inf when every entry is -inf.
float log_sum_exp(std::span<const float> logits);

} // namespace radixrt::runtime
