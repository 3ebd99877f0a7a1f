#include "http/request_parsing.hpp"

#include <cstdlib>
#include <random>

#include "http/request_fields.hpp"
#include "http/structured_output.hpp"

namespace radixrt::http {

namespace {

// A request without a seed gets its own, as OpenAI's: equal requests differ.
std::uint64_t random_seed() {
    static thread_local std::mt19937_64 g{std::random_device{}()};
    return g();
}

} // namespace

namespace detail {

// Sampling, limits and stops. OpenAI's names; SGLang's sampling_params use
// the same, with max_new_tokens.
request parse_params(const json& j, const server_config& cfg, dialect d) {
    request r;
    const auto given = [&](const char* k) { return j.contains(k) && !j[k].is_null(); };
    if (d == dialect::openai && given("max_tokens") && given("max_completion_tokens") &&
        j["max_tokens"] != j["max_completion_tokens"]) {
        throw invalid("max_completion_tokens", "differs from max_tokens; give one of them");
    }
    const char* max_key = d == dialect::sglang             ? "max_new_tokens"
                          : given("max_completion_tokens") ? "max_completion_tokens"
                                                           : "max_tokens";
    r.max_tokens = std::size_t(get_int(j, max_key, 1, std::int64_t(cfg.max_tokens_limit))
                                   .value_or(std::int64_t(cfg.default_max_tokens)));
    auto& s = r.sampling;
    s.temperature = float(get_number(j, "temperature", 0.0, 2.0).value_or(1.0));
    s.top_p = float(get_number(j, "top_p", 1e-9, 1.0).value_or(1.0));
    const auto top_k = get_int(j, "top_k", -1, 1 << 20).value_or(0);
    s.top_k = top_k <= 0 ? 0 : std::size_t(top_k);
    s.min_p = float(get_number(j, "min_p", 0.0, 1.0).value_or(0.0));
    s.presence_penalty = float(get_number(j, "presence_penalty", -2.0, 2.0).value_or(0.0));
    s.frequency_penalty = float(get_number(j, "frequency_penalty", -2.0, 2.0).value_or(0.0));
    s.repetition_penalty = float(get_number(j, "repetition_penalty", 0.01, 100.0).value_or(1.0));
    const auto seed = get_int(j, "seed", INT64_MIN, INT64_MAX);
    s.seed = seed ? std::uint64_t(*seed) : random_seed();
    r.ignore_eos = get_bool(j, "ignore_eos").value_or(false);
    if (auto it = j.find("stop"); it != j.end() && !it->is_null()) {
        if (it->is_string()) {
            r.stop.push_back(it->get<std::string>());
        } else if (it->is_array() && it->size() <= 16) {
            for (const auto& x : *it) {
                if (!x.is_string()) {
                    throw invalid("stop", "expected a string or an array of strings");
                }
                r.stop.push_back(x.get<std::string>());
            }
        } else {
            throw invalid("stop", "expected a string or an array of up to 16 strings");
        }
    }
    if (auto it = j.find("stop_token_ids"); it != j.end() && !it->is_null()) {
        if (!it->is_array()) {
            throw invalid("stop_token_ids", "expected an array of integers");
        }
        for (const auto& x : *it) {
            if (!x.is_number_integer() || x.get<std::int64_t>() < INT32_MIN ||
                x.get<std::int64_t>() > INT32_MAX) {
                throw invalid("stop_token_ids", "expected an array of token ids");
            }
            r.stop_ids.push_back(x.get<std::int32_t>());
        }
    }
    if (auto it = j.find("logit_bias"); it != j.end() && !it->is_null()) {
        if (!it->is_object()) {
            throw invalid("logit_bias", "expected an object of token id -> bias");
        }
        for (const auto& [k, v] : it->items()) {
            char* end = nullptr;
            errno = 0;
            const long long id = std::strtoll(k.c_str(), &end, 10);
            if (end == k.c_str() || *end != '\0' || errno != 0 || id < 0 || id > INT32_MAX ||
                !v.is_number() || v.get<double>() < -100 || v.get<double>() > 100) {
                throw invalid("logit_bias",
                              "keys must be token ids and values numbers in [-100, 100]");
            }
            s.logit_bias.emplace_back(std::int32_t(id), float(v.get<double>()));
        }
    }
    return r;
}

std::string parse_cache_salt(const json& j) {
    auto it = j.find("cache_salt");
    if (it == j.end() || it->is_null()) {
        return {};
    }
    if (!it->is_string() || it->get<std::string>().empty() || it->get<std::string>().size() > 256) {
        throw invalid("cache_salt", "expected a non-empty string of at most 256 bytes");
    }
    return it->get<std::string>();
}

prompt_input parse_one_prompt(const json& p, const std::string& param) {
    if (p.is_string()) {
        return p.get<std::string>();
    }
    if (!p.is_array()) {
        throw invalid(param, "expected a string or an array of token ids");
    }
    std::vector<std::int32_t> ids;
    for (const auto& t : p) {
        if (!t.is_number_integer() || t.get<std::int64_t>() < INT32_MIN ||
            t.get<std::int64_t>() > INT32_MAX) {
            throw invalid(param, "token ids must be integers");
        }
        ids.push_back(t.get<std::int32_t>());
    }
    return ids;
}

} // namespace detail

using namespace detail;

namespace {

// One part of an array content: only text on this text-only server.
std::string text_part(const json& part, const std::string& param) {
    const std::string type = part.is_object() ? part.value("type", "") : "";
    if (type == "image_url" || type == "input_audio" || type == "file" || type == "image" ||
        type == "audio") {
        throw invalid(param, "this server serves a text-only model: '" + type +
                                 "' content parts are not accepted");
    }
    if (type != "text" || !part.contains("text") || !part["text"].is_string()) {
        throw invalid(param, "expected content parts {\"type\": \"text\", \"text\": string}");
    }
    return part["text"].get<std::string>();
}

// Tool calls in history reach the template as sent; only their shapes are checked.
void check_tool_fields(const json& m, const std::string& at) {
    if (auto t = m.find("tool_calls"); t != m.end() && !t->is_null() && !t->is_array()) {
        throw invalid(at + ".tool_calls", "expected an array of tool calls");
    }
    if (auto t = m.find("tool_call_id"); t != m.end() && !t->is_null() && !t->is_string()) {
        throw invalid(at + ".tool_call_id", "expected a string");
    }
}

std::vector<chat_message> parse_messages(const json& j) {
    auto it = j.find("messages");
    if (it == j.end() || !it->is_array() || it->empty()) {
        throw invalid("messages", "expected a non-empty array of {role, content}");
    }
    std::vector<chat_message> msgs;
    for (const auto& m : *it) {
        if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
            throw invalid("messages", "every message needs a string 'role'");
        }
        const std::string at = "messages[" + std::to_string(msgs.size()) + "]";
        std::string content;
        if (auto c = m.find("content"); c != m.end() && c->is_string()) {
            content = c->get<std::string>();
        } else if (c != m.end() && c->is_array()) { // [{type: text, text}]
            for (const auto& part : *c) {
                content += text_part(part, at + ".content");
            }
        } else if (c != m.end() && !c->is_null()) {
            throw invalid(at + ".content", "must be a string or an array of text parts");
        }
        check_tool_fields(m, at);
        const auto role = m["role"].get<std::string>();
        if (role != "system" && role != "user" && role != "assistant" && role != "developer" &&
            role != "tool") {
            throw invalid("messages", "unknown role '" + role + "'");
        }
        msgs.push_back({role == "developer" ? "system" : role, content});
    }
    return msgs;
}

// Chat's logprobs: true (+ top_logprobs 0..20) -> alternatives asked, else -1.
int parse_chat_logprobs(const json& j) {
    const bool on = get_bool(j, "logprobs").value_or(false);
    const auto top = get_int(j, "top_logprobs", 0, std::int64_t(max_top_logprobs));
    if (top && !on) {
        throw invalid("top_logprobs", "top_logprobs needs logprobs: true");
    }
    return on ? int(top.value_or(0)) : -1;
}

void parse_stream(const json& j, bool& stream, bool& include_usage) {
    stream = get_bool(j, "stream").value_or(false);
    if (auto so = j.find("stream_options"); so != j.end() && !so->is_null()) {
        if (!so->is_object()) {
            throw invalid("stream_options", "expected an object");
        }
        for (const auto& [k, v] : so->items()) {
            if (k != "include_usage") {
                throw invalid("stream_options." + k, "unknown field (only include_usage)");
            }
        }
        include_usage = get_bool(*so, "include_usage").value_or(false);
    }
}

// chat_template_kwargs: extra template variables, never the ones the server sets.
void check_template_kwargs(const json& j) {
    const auto it = j.find("chat_template_kwargs");
    if (it == j.end() || it->is_null()) {
        return;
    }
    if (!it->is_object()) {
        throw invalid("chat_template_kwargs", "expected an object of template variables");
    }
    for (const char* reserved :
         {"messages", "tools", "add_generation_prompt", "bos_token", "eos_token"}) {
        if (it->contains(reserved)) {
            throw invalid("chat_template_kwargs",
                          std::string("'") + reserved + "' is set by the server, not a kwarg");
        }
    }
}

void check_template_fields(const json& j) {
    check_template_kwargs(j);
    if (auto t = j.find("tools"); t != j.end() && !t->is_null() && !t->is_array()) {
        throw invalid("tools", "expected an array of tool definitions");
    }
    get_bool(j, "add_generation_prompt");
}

} // namespace

chat_inputs parse_chat_inputs(const nlohmann::ordered_json& j) {
    chat_inputs in;
    for (const auto& m : j.at("messages")) {
        nlohmann::ordered_json msg = m;
        if (auto c = m.find("content"); c != m.end() && c->is_array()) {
            std::string text;
            for (const auto& part : *c) {
                if (part.is_object() && part.value("type", "") == "text" && part.contains("text") &&
                    part["text"].is_string()) {
                    text += part["text"].get<std::string>();
                }
            }
            msg["content"] = text;
        }
        if (msg["role"] == "developer") {
            msg["role"] = "system";
        }
        in.messages.push_back(std::move(msg));
    }
    if (auto t = j.find("tools"); t != j.end() && t->is_array()) {
        in.tools = *t;
    }
    if (auto k = j.find("chat_template_kwargs"); k != j.end() && k->is_object()) {
        in.extra_vars = *k;
    }
    if (auto g = j.find("add_generation_prompt"); g != j.end() && g->is_boolean()) {
        in.add_generation_prompt = g->get<bool>();
    }
    return in;
}

apply_template_call parse_apply_template(const json& j) {
    for (const auto& [k, v] : j.items()) {
        if (k != "messages" && k != "tools" && k != "add_generation_prompt" &&
            k != "chat_template" && k != "chat_template_kwargs" && k != "model") {
            throw invalid(k, "unknown field (expected messages, tools, add_generation_prompt, "
                             "chat_template, chat_template_kwargs)");
        }
    }
    parse_messages(j);
    check_template_fields(j);
    apply_template_call c;
    if (auto t = j.find("chat_template"); t != j.end() && !t->is_null()) {
        if (!t->is_string() || t->get<std::string>().empty()) {
            throw invalid("chat_template", "expected a non-empty template text");
        }
        c.chat_template = t->get<std::string>();
    }
    return c;
}

void set_prompt(request& r, const prompt_input& p) {
    if (const auto* text = std::get_if<std::string>(&p)) {
        r.prompt = *text;
        r.add_bos = true;
    } else {
        r.prompt_ids = std::get<std::vector<std::int32_t>>(p);
    }
}

void check_model(const json& body, const std::string& served) {
    auto m = body.find("model");
    if (m == body.end() || m->is_null()) {
        return;
    }
    if (!m->is_string()) {
        throw invalid("model", "expected a string"); // never echo a client's JSON value
    }
    if (m->get<std::string>() != served) {
        throw api_error(404, "invalid_request_error", "model_not_found",
                        "The model '" + m->get<std::string>() + "' does not exist (serving '" +
                            served + "')",
                        "model");
    }
}

completion_call parse_completion(const json& j, const server_config& cfg) {
    check_known_fields(j, endpoint_fields::completions);
    completion_call c;
    c.cache_salt = parse_cache_salt(j);
    parse_stream(j, c.stream, c.include_usage);
    c.n = std::size_t(get_int(j, "n", 1, 16).value_or(1));
    c.base = parse_params(j, cfg, dialect::openai);
    c.base.constraint = parse_constraint(j, constraint_fields::openai);
    c.echo = get_bool(j, "echo").value_or(false);
    if (auto lp = j.find("logprobs"); lp != j.end() && !lp->is_null()) {
        c.logprobs = int(get_int(j, "logprobs", 0, int(max_top_logprobs)).value_or(0));
    }
    if (auto s = j.find("suffix"); s != j.end() && !s->is_null()) {
        throw invalid("suffix", "suffix (insertion) is not supported");
    }
    if (get_int(j, "best_of", 1, 16).value_or(std::int64_t(c.n)) != std::int64_t(c.n)) {
        throw invalid("best_of", "best_of must equal n (no server-side ranking of samples)");
    }
    auto it = j.find("prompt");
    if (it == j.end() || it->is_null()) {
        throw invalid("prompt", "required");
    }
    if (it->is_string() || (it->is_array() && !it->empty() && (*it)[0].is_number())) {
        c.prompts.push_back(parse_one_prompt(*it, "prompt"));
    } else if (it->is_array() && !it->empty() && it->size() <= 64) {
        for (const auto& p : *it) {
            c.prompts.push_back(parse_one_prompt(p, "prompt"));
        }
    } else {
        throw invalid(
            "prompt",
            "expected a string, an array of token ids, or an array of those (at most 64)");
    }
    return c;
}

chat_call parse_chat(const json& j, const server_config& cfg) {
    check_known_fields(j, endpoint_fields::chat);
    chat_call c;
    c.cache_salt = parse_cache_salt(j);
    parse_stream(j, c.stream, c.include_usage);
    c.n = std::size_t(get_int(j, "n", 1, 16).value_or(1));
    c.base = parse_params(j, cfg, dialect::openai);
    c.base.constraint = parse_constraint(j, constraint_fields::openai);
    c.logprobs = parse_chat_logprobs(j);
    c.messages = parse_messages(j);
    check_template_fields(j);
    return c;
}

std::string openai_param(std::string_view p) {
    return std::string(p);
}

std::string chat_param(std::string_view p) {
    return p == "prompt" ? "messages" : std::string(p);
}

} // namespace radixrt::http
