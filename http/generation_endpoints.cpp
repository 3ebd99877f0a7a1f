// Generation endpoints: each parses its body into a typed call, builds the
// engine requests (prompts x n) and hands them to a request group with the
// API's formatter.
#include <chrono>
#include <random>

#include "http/gateway.hpp"
#include "http/request_group.hpp"
#include "http/request_parsing.hpp"
#include "http/structured_output.hpp"

namespace radixrt::http {

namespace {

std::string random_id(const char* prefix) {
    static thread_local std::mt19937_64 g{std::random_device{}()};
    static const char* hex = "0123456789abcdef";
    std::string s = prefix;
    for (int i = 0; i < 24; ++i) {
        s += hex[g() % 16];
    }
    return s;
}

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// What every formatter of one request needs; created is the request's time.
call_info new_call(const char* id_prefix, const std::string& model, std::size_t n, int logprobs,
                   bool include_usage, std::shared_ptr<engine> eng) {
    call_info info;
    info.id = random_id(id_prefix);
    info.model = model;
    info.created = now_seconds();
    info.n = n;
    info.echo = {std::string()};
    info.logprobs = logprobs;
    info.include_usage = include_usage;
    info.fingerprint = RADIXRT_FINGERPRINT;
    info.piece = [eng = std::move(eng)](std::int32_t id) { return eng->token_text(id); };
    return info;
}

// Logprobs as a call asks for them (alternatives: 0..20; -1: none).
void set_logprobs(request& r, int logprobs) {
    r.logprobs = logprobs >= 0;
    r.top_logprobs = logprobs > 0 ? std::size_t(logprobs) : 0;
}

// n choices of one prompt; the k-th sample gets seed + k so they differ.
void add_choices(std::vector<request>& out, const request& r, std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) {
        request rk = r;
        rk.sampling.seed = r.sampling.seed + k;
        out.push_back(std::move(rk));
    }
}

// Tool calls asked for: the grammar of the template's call syntax (lazy for
// tool_choice auto) and the control tokens its calls are written with.
void set_tool_calls(request& r, const tool_options& tools, tool_format f) {
    if (f == tool_format::none) {
        throw invalid("tools", "this model's chat template has no tool-call syntax radixrt reads "
                               "(hermes, llama3, mistral, functionary): calls could not be "
                               "returned; with tool_choice \"none\" the tools are only shown to "
                               "the model");
    }
    if (r.constraint.kind != constraint_kind::none) {
        const auto& p = r.constraint.param;
        throw invalid(p.substr(0, p.find('.')), "structured output cannot be combined with tool "
                                                "calls yet (unless tool_choice is \"none\")");
    }
    auto c = tool_call_constraint(f, tools);
    if (!c) {
        throw from_engine(c.error());
    }
    r.constraint = std::move(*c);
    r.preserved_tokens = tool_preserved_tokens(f);
}

} // namespace

void gateway::launch(std::shared_ptr<request_group> g, std::vector<request> reqs,
                     const param_names& names, const principal& who,
                     const std::shared_ptr<responder>& out) {
    out->hold(g); // the group lives as long as the connection's response
    g->launch(*current_engine(), std::move(reqs), names,
              {std::make_shared<quota>(cfg_.max_requests_per_connection), tenant_quota(who)});
}

void gateway::completions(const api_request& req, const principal& who,
                          const std::shared_ptr<responder>& out) {
    auto eng = current_engine();
    const json j = parse_body(req.body, cfg_.max_json_depth);
    check_model(j, model_name_);
    auto call = parse_completion(j, cfg_);
    keep_key_order(call.base.constraint, req.body, "");
    auto info = new_call("cmpl-", model_name_, call.n, call.logprobs, call.include_usage, eng);
    info.echo.clear();
    std::vector<request> reqs;
    for (const auto& p : call.prompts) {
        std::string echo;
        if (call.echo) {
            echo = std::holds_alternative<std::string>(p)
                       ? std::get<std::string>(p)
                       : eng->detokenize(std::get<std::vector<std::int32_t>>(p));
        }
        info.echo.push_back(std::move(echo));
        request r = call.base;
        r.cache_namespace = cache_namespace(who, call.cache_salt);
        set_prompt(r, p);
        set_logprobs(r, call.logprobs);
        if (call.echo && call.logprobs >= 0) { // the prompt's own logprobs, scored by the engine
            r.prompt_logprobs = true;
            const auto ids =
                r.prompt_ids.empty() ? eng->tokenize(r.prompt, r.add_bos) : r.prompt_ids;
            info.echo_first.push_back(ids.empty() ? 0 : ids.front());
        }
        add_choices(reqs, r, call.n);
    }
    launch(std::make_shared<request_group>(completions_format(std::move(info)), call.stream,
                                           "/v1/completions", metrics_, http_output(out)),
           std::move(reqs), openai_param, who, out);
}

void gateway::chat(const api_request& req, const principal& who,
                   const std::shared_ptr<responder>& out) {
    const json j = parse_body(req.body, cfg_.max_json_depth);
    check_model(j, model_name_);
    auto call = parse_chat(j, cfg_);
    keep_key_order(call.base.constraint, req.body, "");
    // Parsed again keeping key order: tool schemas reach the template and
    // the call grammar as sent.
    const auto ordered = nlohmann::ordered_json::parse(req.body);
    const auto tools = parse_tool_options(ordered);
    auto info = new_call("chatcmpl-", model_name_, call.n, call.logprobs, call.include_usage,
                         current_engine());
    request r = call.base;
    set_logprobs(r, call.logprobs);
    r.cache_namespace = cache_namespace(who, call.cache_salt);
    if (tools.any()) {
        info.tools = prompt_->tool_syntax();
        set_tool_calls(r, tools, info.tools);
    }
    const auto prompt = prompt_->render(parse_chat_inputs(ordered));
    set_prompt(r, prompt.text);
    r.add_bos = prompt.add_bos;
    r.parse_special = prompt.parse_special;
    std::vector<request> reqs;
    add_choices(reqs, r, call.n);
    launch(std::make_shared<request_group>(chat_completions_format(std::move(info)), call.stream,
                                           "/v1/chat/completions", metrics_, http_output(out)),
           std::move(reqs), chat_param, who, out);
}

void gateway::generate(const api_request& req, const principal& who,
                       const std::shared_ptr<responder>& out) {
    const json j = parse_body(req.body, cfg_.max_json_depth);
    auto call = parse_generate(j, cfg_);
    keep_key_order(call.base.constraint, req.body, "/sampling_params");
    auto info = new_call("gen-", model_name_, 1, call.logprobs, false, current_engine());
    info.logprob_text = call.logprob_text;
    request r = call.base;
    set_logprobs(r, call.logprobs);
    r.cache_namespace = cache_namespace(who, call.cache_salt);
    set_prompt(r, call.prompt);
    if (call.logprob_start >= 0) { // input-token logprobs: the engine scores the prompt
        r.prompt_logprobs = true;
        const auto ids =
            r.prompt_ids.empty() ? current_engine()->tokenize(r.prompt, r.add_bos) : r.prompt_ids;
        info.echo_first = {ids.empty() ? 0 : ids.front()};
        info.input_logprobs_from = call.logprob_start;
    }
    std::vector<request> reqs;
    reqs.push_back(std::move(r));
    launch(std::make_shared<request_group>(generate_format(std::move(info)), call.stream,
                                           "/generate", metrics_, http_output(out)),
           std::move(reqs), generate_params(call.prompt_param), who, out);
}

void gateway::apply_template(const api_request& req, const std::shared_ptr<responder>& out) {
    const json j = parse_body(req.body, cfg_.max_json_depth);
    check_model(j, model_name_);
    const auto call = parse_apply_template(j);
    const auto inputs = parse_chat_inputs(nlohmann::ordered_json::parse(req.body));
    const auto rendered =
        call.chat_template.empty()
            ? prompt_->render(inputs)
            : chat_prompt::from_text(call.chat_template, current_engine()->model()).render(inputs);
    reply(out, "/apply_chat_template", dump(json{{"prompt", rendered.text}}));
}

} // namespace radixrt::http
