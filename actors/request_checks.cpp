#include "actors/request_checks.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace radixrt::actors {

namespace {

error invalid(std::string param, std::string message) {
    return {errc::invalid_request, std::move(message), std::move(param)};
}

std::string vocab_range(const request_limits& lim) {
    return "[0, " + std::to_string(lim.vocab_size) + ")";
}

bool in_vocab(std::int32_t id, const request_limits& lim) {
    return id >= 0 && std::size_t(id) < lim.vocab_size;
}

} // namespace

expected<void> check_params(const request& r, const request_limits& lim) {
    const auto& s = r.sampling;
    if (r.max_tokens == 0) {
        return invalid("max_tokens", "max_tokens must be at least 1");
    }
    if (!(s.temperature >= 0) || !std::isfinite(s.temperature)) {
        return invalid("temperature", "temperature must be a finite number >= 0");
    }
    if (!(s.top_p > 0 && s.top_p <= 1)) {
        return invalid("top_p", "top_p must be in (0, 1]");
    }
    if (!(s.min_p >= 0 && s.min_p <= 1)) {
        return invalid("min_p", "min_p must be in [0, 1]");
    }
    if (!(s.repetition_penalty > 0) || !std::isfinite(s.repetition_penalty)) {
        return invalid("repetition_penalty", "repetition_penalty must be a finite number > 0");
    }
    if (!std::isfinite(s.presence_penalty)) {
        return invalid("presence_penalty", "presence_penalty must be a finite number");
    }
    if (!std::isfinite(s.frequency_penalty)) {
        return invalid("frequency_penalty", "frequency_penalty must be a finite number");
    }
    for (const auto& [id, bias] : s.logit_bias) {
        if (!in_vocab(id, lim)) {
            return invalid("logit_bias", "logit_bias: token id " + std::to_string(id) +
                                             " is outside the vocabulary " + vocab_range(lim));
        }
        if (std::isnan(bias)) {
            return invalid("logit_bias", "logit_bias: the bias of token " + std::to_string(id) +
                                             " is not a number");
        }
    }
    for (auto id : r.stop_ids) {
        if (!in_vocab(id, lim)) {
            return invalid("stop_token_ids", "stop token id " + std::to_string(id) +
                                                 " is outside the vocabulary " + vocab_range(lim));
        }
    }
    if (r.top_logprobs > max_top_logprobs) {
        return invalid("top_logprobs",
                       "top_logprobs must be at most " + std::to_string(max_top_logprobs));
    }
    const std::string cparam = r.constraint.param.empty() ? "constraint" : r.constraint.param;
    if (!r.constraint.triggers.empty() && r.constraint.kind == constraint_kind::none) {
        return invalid(cparam, "constraint triggers need a constraint");
    }
    for (const auto& t : r.constraint.triggers) {
        if (t.text.empty()) {
            return invalid(cparam, "a constraint trigger must not be empty");
        }
    }
    for (std::size_t i = 0; i < r.logit_processors.size(); ++i) {
        if (!r.logit_processors[i]) {
            return invalid("logit_processors",
                           "logit_processors[" + std::to_string(i) + "] is null");
        }
    }
    return {};
}

std::vector<runtime::token_id> preserved_ids(const request& r, const runtime::tokenizer& tok) {
    std::vector<runtime::token_id> ids;
    for (const auto& text : r.preserved_tokens) {
        const auto id = tok.lookup(text);
        if (id >= 0 && tok.kind(id) == runtime::token_kind::control) {
            ids.push_back(id);
        }
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

expected<std::vector<runtime::token_id>> check_prompt(const request& r, const request_limits& lim,
                                                      const runtime::tokenizer& tok) {
    std::vector<runtime::token_id> ids;
    if (!r.prompt_ids.empty()) {
        for (auto id : r.prompt_ids) {
            if (!in_vocab(id, lim)) {
                return invalid("prompt", "prompt token id " + std::to_string(id) +
                                             " is outside the vocabulary " + vocab_range(lim));
            }
        }
        ids = r.prompt_ids;
    } else {
        ids = tok.encode(r.prompt, r.add_bos, r.parse_special);
    }
    if (ids.empty()) {
        return invalid("prompt", "the prompt is empty");
    }
    const std::size_t ctx = lim.context_length;
    const std::size_t limit =
        lim.max_prompt_tokens == 0 ? ctx : std::min(ctx, lim.max_prompt_tokens);
    if (ids.size() > limit || ids.size() + r.max_tokens > ctx) {
        return error{
            errc::context_exceeded,
            "This model's maximum context length is " + std::to_string(ctx) + " tokens" +
                (limit < ctx ? " (prompts at most " + std::to_string(limit) + ")" : std::string()) +
                ". However, you requested " + std::to_string(ids.size() + r.max_tokens) +
                " tokens (" + std::to_string(ids.size()) + " in the prompt, " +
                std::to_string(r.max_tokens) + " for the completion).",
            "prompt"};
    }
    if (ids.size() + r.max_tokens > lim.kv_tokens) {
        return error{errc::context_exceeded,
                     "The request needs " + std::to_string(ids.size() + r.max_tokens) +
                         " tokens of KV cache but the whole pool holds " +
                         std::to_string(lim.kv_tokens) + " (raise the KV cache size)",
                     "max_tokens"};
    }
    return ids;
}

} // namespace radixrt::actors
