#pragma once
// Request bodies parsed into typed calls, once, per API. Parsing checks JSON
// shapes and the API's own ranges (OpenAI's temperature 0..2, the server's
// max_tokens limit); everything the engine validates (token ids, context,
// KV pool) is left to it, and its errors are renamed to the API's fields.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "http/api_error.hpp"
#include "http/chat_prompt.hpp"
#include "http/chat_template.hpp"
#include "http/config.hpp"
#include "http/json_util.hpp"
#include "http/tool_calls.hpp"
#include "radixrt/request.hpp"

namespace radixrt::http {

/// A prompt as the client gave it: text or token ids.
using prompt_input = std::variant<std::string, std::vector<std::int32_t>>;

/// Sets r's prompt from p (text gets BOS when the model wants it).
void set_prompt(request& r, const prompt_input& p);

struct completion_call {
    std::string cache_salt;            // partitions the prefix cache further (vLLM's cache_salt)
    std::vector<prompt_input> prompts; // a batch: each prompt gets n choices
    std::size_t n = 1;
    bool echo = false;
    int logprobs = -1; // -1: not asked
    bool stream = false, include_usage = false;
    request base; // sampling, limits and stops shared by every choice
};

struct chat_call {
    std::string cache_salt; // partitions the prefix cache further (vLLM's cache_salt)
    std::vector<chat_message> messages;
    std::size_t n = 1;
    int logprobs = -1; // alternatives per token (0..20) with logprobs: true; -1: not asked
    bool stream = false, include_usage = false;
    request base;
};

struct generate_call {
    std::string cache_salt; // partitions the prefix cache further (vLLM's cache_salt)
    prompt_input prompt;
    std::string prompt_param; // "text" or "input_ids"
    bool stream = false;
    int logprobs = -1;         // return_logprob: top_logprobs_num (0..20); -1: not asked
    bool logprob_text = false; // return_text_in_logprobs
    int logprob_start = -1;    // logprob_start_len: input-token logprobs from here; -1: none
    request base;
};

/// A WebSocket "generate" message (docs/websocket.md).
struct ws_generate_call {
    std::string cache_salt; // partitions the prefix cache further (vLLM's cache_salt)
    prompt_input prompt;
    std::string prompt_param; // "prompt" or "input_ids"
    int logprobs = -1;        // params.logprobs: params.top_logprobs (0..20); -1: not asked
    request base;
};

/// The template inputs of a chat body (messages as given, with text-part
/// arrays joined and `developer` as `system`; tools; chat_template_kwargs;
/// add_generation_prompt, default true). The body is the ordered parse of a
/// request parse_chat (or parse_apply_template) has already checked.
chat_inputs parse_chat_inputs(const nlohmann::ordered_json& body);

/// tools, tool_choice and parallel_tool_calls of a chat body (its ordered
/// parse: a tool's parameters keep their key order), checked field by field.
tool_options parse_tool_options(const nlohmann::ordered_json& body);

/// POST /apply_chat_template: the inputs and an optional template text.
struct apply_template_call {
    chat_inputs inputs;
    std::string chat_template; // empty: the server's
};
/// Refuses unknown fields with a 400 naming the field.
apply_template_call parse_apply_template(const json& body);

/// 404 model_not_found unless body's "model" is absent, null or `served`.
void check_model(const json& body, const std::string& served);

completion_call parse_completion(const json& body, const server_config& cfg);
chat_call parse_chat(const json& body, const server_config& cfg);
generate_call parse_generate(const json& body, const server_config& cfg);
ws_generate_call parse_ws_generate(const json& msg, const server_config& cfg);

namespace detail {
enum class dialect { openai, sglang };
/// Sampling, limits and stops (OpenAI's names; SGLang's use max_new_tokens).
request parse_params(const json& j, const server_config& cfg, dialect d);
std::string parse_cache_salt(const json& j);
prompt_input parse_one_prompt(const json& p, const std::string& param);
} // namespace detail

/// The API's name for an engine field, per API.
std::string openai_param(std::string_view engine_param);
std::string chat_param(std::string_view engine_param);
param_names generate_params(std::string prompt_param);
param_names ws_params(std::string prompt_param);

} // namespace radixrt::http
