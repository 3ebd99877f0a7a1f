#pragma once
// Single-sequence generation on a private KV arena: the bare-model path that
// `radixrt generate` and the model tests use (the serving engine batches
// many sequences through the same forward_pass).
#include <functional>
#include <span>
#include <vector>

#include "runtime/forward.hpp"
#include "runtime/sampler.hpp"

namespace radixrt::runtime {

using radixrt::finish_reason;

struct generate_options {
    std::size_t max_tokens = 128;
    bool ignore_eos = false;
    std::size_t prefill_chunk = 512; // prompt tokens per forward step
    kv_type kv = kv_type::f16;       // KV cache elements (llama.cpp's default is F16)
    sampling_params sampling;
};

struct generate_result {
    std::vector<token_id> tokens;
    std::vector<float> logprobs;
    finish_reason reason = finish_reason::length;
    double prefill_seconds = 0.0;
    double decode_seconds = 0.0;
};

/// Called for every generated token; returning false stops generation.
using token_callback = std::function<bool(token_id, float logprob)>;

/// Prefills the prompt (in chunks) and samples up to max_tokens. Stops at the
/// tokenizer's end-of-generation token unless ignore_eos, and at the context
/// length. Throws std::invalid_argument for an empty or too long prompt.
generate_result generate(forward_pass& fwd, const tokenizer& tok, std::span<const token_id> prompt,
                         const generate_options& opt, const token_callback& on_token = {});

} // namespace radixrt::runtime
