#include "http/request_fields.hpp"

#include <algorithm>
#include <span>
#include <string_view>

namespace radixrt::http {

namespace {

using names = std::span<const std::string_view>;

// Sampling, limits and stops: what parse_params reads (OpenAI spelling).
constexpr std::string_view sampling[] = {
    "temperature",        "top_p", "top_k",      "min_p", "presence_penalty", "frequency_penalty",
    "repetition_penalty", "seed",  "ignore_eos", "stop",  "stop_token_ids",   "logit_bias"};

constexpr std::string_view chat_fields[] = {"model",
                                            "messages",
                                            "max_tokens",
                                            "max_completion_tokens",
                                            "n",
                                            "stream",
                                            "stream_options",
                                            "logprobs",
                                            "top_logprobs",
                                            "cache_salt",
                                            "tools",
                                            "tool_choice",
                                            "parallel_tool_calls",
                                            "response_format",
                                            "grammar",
                                            "chat_template_kwargs",
                                            "add_generation_prompt"};

constexpr std::string_view completion_fields[] = {"model",
                                                  "prompt",
                                                  "max_tokens",
                                                  "max_completion_tokens",
                                                  "n",
                                                  "stream",
                                                  "stream_options",
                                                  "logprobs",
                                                  "echo",
                                                  "cache_salt",
                                                  "best_of",
                                                  "suffix",
                                                  "response_format",
                                                  "grammar"};

// Sent by OpenAI SDKs and agents on their own; none can change the output.
constexpr std::string_view ignored_fields[] = {"user", "metadata", "store", "service_tier"};

constexpr std::string_view generate_fields[] = {
    "text",           "input_ids",        "sampling_params",   "stream",
    "return_logprob", "top_logprobs_num", "logprob_start_len", "return_text_in_logprobs",
    "cache_salt"};

constexpr std::string_view generate_sampling_fields[] = {"max_new_tokens", "grammar", "regex",
                                                         "json_schema", "ebnf"};

constexpr std::string_view ws_message_fields[] = {"type",      "id",     "prompt",
                                                  "input_ids", "params", "cache_salt"};

constexpr std::string_view ws_param_fields[] = {"max_tokens",   "max_completion_tokens", "logprobs",
                                                "top_logprobs", "response_format",       "grammar"};

bool in(names list, std::string_view k) {
    return std::find(list.begin(), list.end(), k) != list.end();
}

bool known(endpoint_fields t, std::string_view k) {
    switch (t) {
    case endpoint_fields::chat:
        return in(chat_fields, k) || in(sampling, k) || in(ignored_fields, k);
    case endpoint_fields::completions:
        return in(completion_fields, k) || in(sampling, k) || in(ignored_fields, k);
    case endpoint_fields::generate:
        return in(generate_fields, k);
    case endpoint_fields::generate_sampling:
        return in(generate_sampling_fields, k) || in(sampling, k);
    case endpoint_fields::ws_message:
        return in(ws_message_fields, k);
    case endpoint_fields::ws_params:
        return in(ws_param_fields, k) || in(sampling, k);
    case endpoint_fields::ws_cancel:
        return k == "type" || k == "id";
    }
    return false;
}

} // namespace

void check_known_fields(const json& j, endpoint_fields table, const std::string& prefix) {
    for (const auto& [k, v] : j.items()) {
        if (known(table, k)) {
            continue;
        }
        if (table == endpoint_fields::generate_sampling && k == "max_tokens") {
            throw invalid(prefix + k, "SGLang's /generate takes max_new_tokens; use "
                                      "sampling_params.max_new_tokens");
        }
        throw api_error(400, "invalid_request_error", "unknown_field",
                        "unknown field '" + prefix + k + "'", prefix + k);
    }
}

} // namespace radixrt::http
