// SGLang's /generate and the WebSocket "generate" message, parsed into
// typed calls (request_parsing.hpp), and their names for engine fields.
#include "http/request_fields.hpp"
#include "http/request_parsing.hpp"
#include "http/structured_output.hpp"

namespace radixrt::http {

using namespace detail;

namespace {

// Errors inside a nested object name the field by its full path.
request parse_nested_params(const json& j, const server_config& cfg, dialect d,
                            const std::string& prefix) {
    try {
        return parse_params(j, cfg, d);
    } catch (const api_error& e) {
        throw api_error(e.status, e.type, e.code, e.what(), prefix + e.param);
    }
}

// return_logprob, top_logprobs_num, logprob_start_len (-1: output tokens
// only; n >= 0: input tokens from position n too, scored by the engine).
void parse_generate_logprobs(const json& j, generate_call& g) {
    const bool on = get_bool(j, "return_logprob").value_or(false);
    const auto top = get_int(j, "top_logprobs_num", 0, std::int64_t(max_top_logprobs));
    if (top && *top > 0 && !on) {
        throw invalid("top_logprobs_num", "top_logprobs_num needs return_logprob: true");
    }
    g.logprob_start = int(get_int(j, "logprob_start_len", -1, INT32_MAX).value_or(-1));
    if (g.logprob_start >= 0 && !on) {
        throw invalid("logprob_start_len", "input-token logprobs need return_logprob: true");
    }
    g.logprob_text = get_bool(j, "return_text_in_logprobs").value_or(false);
    g.logprobs = on ? int(top.value_or(0)) : -1;
}

// An optional nested object (absent or null: empty); anything else is a 400.
json optional_object(const json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        return json::object();
    }
    if (!it->is_object()) {
        throw invalid(key, "expected an object");
    }
    return *it;
}

} // namespace

generate_call parse_generate(const json& j, const server_config& cfg) {
    check_known_fields(j, endpoint_fields::generate);
    generate_call g;
    g.cache_salt = parse_cache_salt(j);
    g.stream = get_bool(j, "stream").value_or(false);
    const json params = optional_object(j, "sampling_params");
    check_known_fields(params, endpoint_fields::generate_sampling, "sampling_params.");
    g.base = parse_nested_params(params, cfg, dialect::sglang, "sampling_params.");
    g.base.constraint = parse_constraint(params, constraint_fields::sglang, "sampling_params.");
    parse_generate_logprobs(j, g);
    if (j.contains("input_ids")) {
        g.prompt_param = "input_ids";
        if (!j["input_ids"].is_array()) {
            throw invalid("input_ids", "expected an array of token ids");
        }
    } else if (j.contains("text")) {
        g.prompt_param = "text";
        if (!j["text"].is_string()) {
            throw invalid("text", "expected a string");
        }
    } else {
        throw invalid("text", "give 'text' or 'input_ids'");
    }
    g.prompt = parse_one_prompt(j[g.prompt_param], g.prompt_param);
    return g;
}

ws_generate_call parse_ws_generate(const json& j, const server_config& cfg) {
    check_known_fields(j, endpoint_fields::ws_message);
    ws_generate_call g;
    g.cache_salt = parse_cache_salt(j);
    const json p = optional_object(j, "params");
    check_known_fields(p, endpoint_fields::ws_params, "params.");
    g.base = parse_nested_params(p, cfg, dialect::openai, "params.");
    g.base.constraint = parse_constraint(p, constraint_fields::openai, "params.");
    try {
        const bool on = get_bool(p, "logprobs").value_or(false);
        const auto top = get_int(p, "top_logprobs", 0, std::int64_t(max_top_logprobs));
        if (top && !on) {
            throw invalid("top_logprobs", "top_logprobs needs logprobs: true");
        }
        g.logprobs = on ? int(top.value_or(0)) : -1;
    } catch (const api_error& e) {
        throw api_error(e.status, e.type, e.code, e.what(), "params." + e.param);
    }
    if (j.contains("input_ids")) {
        g.prompt_param = "input_ids";
    } else if (j.contains("prompt")) {
        g.prompt_param = "prompt";
    } else {
        throw invalid("prompt", "give 'prompt' or 'input_ids'");
    }
    g.prompt = parse_one_prompt(j[g.prompt_param], g.prompt_param);
    return g;
}

param_names generate_params(std::string prompt_param) {
    return [prompt_param](std::string_view p) {
        if (p == "prompt") {
            return prompt_param;
        }
        return "sampling_params." + std::string(p == "max_tokens" ? "max_new_tokens" : p);
    };
}

param_names ws_params(std::string prompt_param) {
    return [prompt_param](std::string_view p) {
        return p == "prompt" ? prompt_param : "params." + std::string(p);
    };
}

} // namespace radixrt::http
