#pragma once
// One forward step for an attention executor, and its results. Samplers move
// into the step and back out with the results: ownership crosses by message.
#include <memory>
#include <vector>

#include "runtime/ids.hpp"
#include "runtime/sampler.hpp"

namespace radixrt::actors {

struct step_sequence {
    runtime::request_id id{};
    std::vector<runtime::token_id> tokens; // new tokens this step
    std::size_t n_past = 0;
    std::vector<std::int32_t> block_table;     // covers n_past + tokens.size()
    std::unique_ptr<runtime::sampler> sampler; // set: sample the next token after this step
};

struct step_batch {
    std::vector<step_sequence> seqs;
};

struct sequence_result {
    runtime::request_id id{};
    bool sampled = false;
    runtime::sampled token{};
    std::unique_ptr<runtime::sampler> sampler;
};

struct step_result {
    std::vector<sequence_result> seqs;
    double seconds = 0; // compute time of the step on this executor
};

} // namespace radixrt::actors
