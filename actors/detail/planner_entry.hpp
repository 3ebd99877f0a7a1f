#pragma once
// The batch planner's record of one request (private to the planner's
// sources).
#include <optional>
#include <span>

#include "actors/batch_planner.hpp"

namespace radixrt::actors {

// One request. tokens = prompt + generated; the KV of tokens[0, computed) is
// in blocks, whose first `shared` are the tree's (locked through node) and
// the rest the request's own (one reference each).
struct batch_planner::entry {
    struct pending_finish {
        finish_reason reason;
        std::optional<radixrt::error> failure;
    };

    runtime::request_id id{};
    radixrt::request params;
    std::uint64_t arrival = 0;
    std::vector<runtime::token_id> tokens;
    std::size_t prompt_len = 0;
    std::size_t computed = 0;
    std::vector<runtime::block_id> blocks;
    std::size_t shared = 0;
    runtime::node_id node{};
    std::unique_ptr<runtime::sampler> smp; // null while its sequence is in a step
    runtime::stop_checker stop;
    std::size_t generated = 0;
    std::size_t cached_tokens = 0;
    bool admitted_once = false;
    std::vector<prompt_token_logprob> scores; // prompt_logprobs: of the prompt computed so far
    bool scored = false;                      // prompt_logprobs: delivered
    bool preempted = false;                // inside allocate_step only
    std::optional<pending_finish> pending; // decided in a step, carried out after it
    bool ended = false;                    // its finish event is out; erased next
    clock_type::time_point submitted{}, scheduled{}, first_token{};

    entry(submission s, const runtime::tokenizer& tok)
        : id(s.id), params(std::move(s.params)), tokens(std::move(s.prompt)),
          prompt_len(tokens.size()),
          smp(std::make_unique<runtime::sampler>(params.sampling, tokens, params.logit_processors,
                                                 params.top_logprobs)),
          stop(tok, params.stop, std::move(s.shown)), submitted(s.submitted) {}

    std::size_t remaining() const { return tokens.size() - computed; }
    std::span<const runtime::block_id> own_blocks() const {
        return std::span(blocks).subspan(shared);
    }
};

} // namespace radixrt::actors
