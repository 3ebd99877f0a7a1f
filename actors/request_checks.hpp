#pragma once
// Validation of a request against the model and the engine's limits, with
// a message a user can act on and the field it concerns. The engine runs it
// on the caller's thread before anything is queued; the gateway relies on it
// instead of checking the same things again.
#include <vector>

#include "radixrt/engine.hpp"
#include "runtime/tokenizer.hpp"

namespace radixrt::actors {

struct request_limits {
    std::size_t vocab_size = 0;
    std::size_t context_length = 0;
    std::size_t max_prompt_tokens = 0; // 0: the context
    std::size_t kv_tokens = 0;         // the whole KV pool, in tokens
};

/// Everything but the prompt: sampling, stops, processors, max_tokens.
expected<void> check_params(const request& r, const request_limits& lim);

/// request::preserved_tokens as the vocabulary's control-token ids, sorted
/// (texts that are no control token are dropped, as documented).
std::vector<runtime::token_id> preserved_ids(const request& r, const runtime::tokenizer& tok);

/// The prompt's token ids (tokenized when given as text), checked against
/// the vocabulary, the prompt limit, the context and the KV pool.
expected<std::vector<runtime::token_id>> check_prompt(const request& r, const request_limits& lim,
                                                      const runtime::tokenizer& tok);

} // namespace radixrt::actors
