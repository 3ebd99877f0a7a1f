#pragma once
// One forward step for an executor, and its results. A sequence's sampler
// moves into the step and back out with the result: ownership crosses by
// message. The KV arena is shared memory partitioned by block: a step may
// write only the blocks of its sequences' new positions and read only
// their block tables, which the planner keeps stable until the step ends.
#include <memory>
#include <optional>
#include <vector>

#include "radixrt/request.hpp"
#include "runtime/ids.hpp"
#include "runtime/sampler.hpp"

namespace radixrt::actors {

struct step_sequence {
    runtime::request_id id{};
    std::vector<runtime::token_id> tokens;      // new tokens this step
    std::size_t n_past = 0;                     // of this sequence, already in the KV cache
    std::vector<runtime::block_id> block_table; // covers n_past + tokens.size()
    std::unique_ptr<runtime::sampler> sampler;  // set: sample the next token after this step
    // Prompt scoring (request::prompt_logprobs): for each new token, the
    // prompt token that follows it (-1: none, the prompt ends there); empty:
    // no scoring. top: alternatives per scored token.
    std::vector<runtime::token_id> score_targets;
    std::size_t score_top = 0;
};

struct step_batch {
    std::vector<step_sequence> seqs;
};

struct sequence_result {
    runtime::request_id id{};
    std::optional<runtime::sampled> token;     // when a sampler came with the sequence
    std::unique_ptr<runtime::sampler> sampler; // given back
    std::vector<radixrt::prompt_token_logprob> scores; // the score_targets that were not -1
    std::optional<radixrt::error> failure;     // the sequence could not be computed or sampled
};

struct step_result {
    std::vector<sequence_result> seqs;
    double seconds = 0;         // compute time of the step on this executor
    double forward_seconds = 0; // of which the model's forward pass (the kernels)
};

} // namespace radixrt::actors
