// Generation endpoints: OpenAI completions and chat (plain and SSE), SGLang's
// /generate, and the WebSocket protocol. One request group per HTTP request
// fans out to its engine requests (prompts x n) and gathers them back.
#include <chrono>
#include <random>

#include "http/gateway.hpp"
#include "http/json_util.hpp"

namespace radixrt::http {

namespace {

using clock_type = std::chrono::steady_clock;
enum class api_kind { completion, chat, generate };

std::string random_id(const char* prefix) {
    static thread_local std::mt19937_64 g{std::random_device{}()};
    static const char* hex = "0123456789abcdef";
    std::string s = prefix;
    for (int i = 0; i < 24; ++i) {
        s += hex[g() % 16];
    }
    return s;
}

const char* finish_name(finish_reason r) {
    return r == finish_reason::length ? "length" : r == finish_reason::stop ? "stop" : to_string(r);
}

// Sampling and limits, OpenAI names (SGLang's sampling_params use the same,
// with max_new_tokens and stop_token_ids).
request parse_params(const json& j, const server_config& cfg, bool sglang) {
    request r;
    const char* max_key = sglang                                ? "max_new_tokens"
                          : j.contains("max_completion_tokens") ? "max_completion_tokens"
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
    s.seed = std::uint64_t(get_int(j, "seed", INT64_MIN, INT64_MAX).value_or(0));
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
            if (!x.is_number_integer()) {
                throw invalid("stop_token_ids", "expected an array of integers");
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
            const long id = std::strtol(k.c_str(), &end, 10);
            if (end == k.c_str() || *end != '\0' || !v.is_number() || v.get<double>() < -100 ||
                v.get<double>() > 100) {
                throw invalid("logit_bias",
                              "keys must be token ids and values numbers in [-100, 100]");
            }
            s.logit_bias.emplace_back(std::int32_t(id), float(v.get<double>()));
        }
    }
    return r;
}

class group;

class group_sink : public stream_sink {
  public:
    group_sink(std::weak_ptr<group> g, std::size_t i) : g_(std::move(g)), i_(i) {}
    void on_token(const token_event& e) override;
    void on_finish(const finish_event& e) override;

  private:
    std::weak_ptr<group> g_;
    std::size_t i_;
};

struct choice {
    std::string text;
    std::vector<std::string> pieces; // each token's text, for logprobs
    std::vector<std::int32_t> ids;
    std::vector<float> logprobs;
    finish_event fin;
    bool done = false;
    bool started = false;
    clock_type::time_point last;
};

// All engine requests of one HTTP request. The responder holds the group; the
// group holds the sinks; the engine holds the sinks weakly.
class group : public std::enable_shared_from_this<group> {
  public:
    api_kind kind = api_kind::completion;
    bool stream = false, include_usage = false;
    int logprobs = -1;
    std::size_t n = 1;
    std::vector<std::string> echo; // per prompt, for echo
    std::string id, model, endpoint;
    std::int64_t created = 0;
    std::weak_ptr<responder> out;
    metrics* stats = nullptr;
    clock_type::time_point start = clock_type::now();
    std::vector<std::shared_ptr<group_sink>> sinks;
    std::vector<request_handle> handles;

    std::mutex mutex;
    std::vector<choice> choices;
    std::size_t remaining = 0;

    json chunk_base() const {
        json j = {{"id", id},
                  {"object", kind == api_kind::chat ? "chat.completion.chunk" : "text_completion"},
                  {"created", created},
                  {"model", model}};
        if (include_usage) {
            j["usage"] = nullptr; // as OpenAI: null on every chunk but the last
        }
        return j;
    }

    void send(const json& j) {
        if (auto o = out.lock()) {
            o->event(dump(j));
        }
    }

    void token(std::size_t i, const token_event& e) {
        std::lock_guard lock(mutex);
        auto& c = choices[i];
        const auto now = clock_type::now();
        if (c.ids.empty()) {
            stats->ttft(std::chrono::duration<double>(now - start).count());
        } else {
            stats->inter_token(std::chrono::duration<double>(now - c.last).count());
        }
        c.last = now;
        c.ids.push_back(e.token);
        c.pieces.push_back(e.text);
        c.logprobs.push_back(e.logprob);
        c.text += e.text;
        if (!stream) {
            return;
        }
        if (kind == api_kind::generate) {
            send({{"text", c.text},
                  {"output_ids", c.ids},
                  {"index", i},
                  {"meta_info", {{"id", id}, {"completion_tokens", c.ids.size()}}}});
            return;
        }
        json ch = chunk_base();
        json item = {{"index", i}, {"finish_reason", nullptr}, {"logprobs", nullptr}};
        if (kind == api_kind::chat) {
            item["delta"] = c.started ? json{{"content", e.text}}
                                      : json{{"role", "assistant"}, {"content", e.text}};
        } else {
            item["text"] = (c.started ? std::string() : echo[i / n]) + e.text;
            if (logprobs >= 0) {
                item["logprobs"] = {{"tokens", {e.text}},
                                    {"token_logprobs", {e.logprob}},
                                    {"top_logprobs", nullptr}};
            }
        }
        c.started = true;
        ch["choices"] = json::array({item});
        send(ch);
    }

    json usage_json() const {
        std::size_t prompt = 0, completion = 0, cached = 0;
        for (std::size_t i = 0; i < choices.size(); ++i) {
            completion += choices[i].fin.usage.completion_tokens;
            if (i % n == 0) { // a prompt counts once, whatever n
                prompt += choices[i].fin.usage.prompt_tokens;
                cached += choices[i].fin.usage.cached_tokens;
            }
        }
        return {{"prompt_tokens", prompt},
                {"completion_tokens", completion},
                {"total_tokens", prompt + completion},
                {"prompt_tokens_details", {{"cached_tokens", cached}}}};
    }

    void finish(std::size_t i, const finish_event& e) {
        std::lock_guard lock(mutex);
        auto& c = choices[i];
        c.fin = e;
        c.done = true;
        c.text += e.text_tail;
        stats->finished(e);
        auto o = out.lock();
        if (stream && o) {
            if (e.reason == finish_reason::error) {
                send(
                    {{"error",
                      {{"message", e.message},
                       {"type", "server_error"},
                       {"code", e.error.value() == int(errc::shutting_down) ? "shutting_down"
                                                                            : "internal_error"}}}});
            } else if (kind == api_kind::generate) {
                json meta = meta_info(c);
                send({{"text", c.text}, {"output_ids", c.ids}, {"index", i}, {"meta_info", meta}});
            } else {
                json ch = chunk_base();
                json item = {
                    {"index", i}, {"finish_reason", finish_name(e.reason)}, {"logprobs", nullptr}};
                if (kind == api_kind::chat) {
                    item["delta"] =
                        c.started ? json::object() : json{{"role", "assistant"}, {"content", ""}};
                } else {
                    item["text"] = (c.started ? std::string() : echo[i / n]) + e.text_tail;
                }
                ch["choices"] = json::array({item});
                send(ch);
            }
        }
        if (--remaining > 0) {
            return;
        }
        stats->request(endpoint, finish_name(e.reason));
        if (!o) {
            return;
        }
        if (stream) {
            if (include_usage && kind != api_kind::generate) {
                json ch = chunk_base();
                ch["choices"] = json::array();
                ch["usage"] = usage_json();
                send(ch);
            }
            o->event("[DONE]");
            o->end_events();
            return;
        }
        for (const auto& ch : choices) {
            if (ch.fin.reason == finish_reason::error) {
                const bool down = ch.fin.error.value() == int(errc::shutting_down);
                json err = {{"error",
                             {{"message", ch.fin.message},
                              {"type", "server_error"},
                              {"code", down ? "shutting_down" : "internal_error"},
                              {"param", nullptr}}}};
                o->respond(down ? 503 : 500, "application/json", dump(err));
                return;
            }
        }
        o->respond(200, "application/json", dump(full_response()));
    }

    json meta_info(const choice& c) const {
        const auto& u = c.fin.usage;
        return {{"id", id},
                {"prompt_tokens", u.prompt_tokens},
                {"completion_tokens", u.completion_tokens},
                {"cached_tokens", u.cached_tokens},
                {"finish_reason",
                 {{"type", c.fin.reason == finish_reason::cancelled ? "abort"
                                                                    : finish_name(c.fin.reason)}}},
                {"queue_time", u.queue_ms / 1000.0},
                {"ttft", u.ttft_ms / 1000.0},
                {"e2e_latency", u.total_ms / 1000.0}};
    }

    json full_response() const {
        if (kind == api_kind::generate) {
            const auto& c = choices[0];
            return {{"text", c.text}, {"output_ids", c.ids}, {"meta_info", meta_info(c)}};
        }
        json items = json::array();
        for (std::size_t i = 0; i < choices.size(); ++i) {
            const auto& c = choices[i];
            json item = {
                {"index", i}, {"finish_reason", finish_name(c.fin.reason)}, {"logprobs", nullptr}};
            if (kind == api_kind::chat) {
                item["message"] = {{"role", "assistant"}, {"content", c.text}};
            } else {
                item["text"] = echo[i / n] + c.text;
                if (logprobs >= 0) {
                    std::vector<std::size_t> offsets; // of each token in the returned text
                    std::size_t at = echo[i / n].size();
                    for (const auto& piece : c.pieces) {
                        offsets.push_back(at);
                        at += piece.size();
                    }
                    item["logprobs"] = {{"token_logprobs", c.logprobs},
                                        {"tokens", c.pieces},
                                        {"text_offset", offsets},
                                        {"top_logprobs", nullptr}};
                }
            }
            items.push_back(item);
        }
        return {{"id", id},
                {"object", kind == api_kind::chat ? "chat.completion" : "text_completion"},
                {"created", created},
                {"model", model},
                {"choices", items},
                {"usage", usage_json()}};
    }
};

void group_sink::on_token(const token_event& e) {
    if (auto g = g_.lock()) {
        g->token(i_, e);
    }
}

void group_sink::on_finish(const finish_event& e) {
    if (auto g = g_.lock()) {
        g->finish(i_, e);
    }
}

api_error submit_error(std::error_code ec) {
    switch (errc(ec.value())) {
    case errc::overloaded:
        return api_error(503, "server_error", "overloaded",
                         "the server is overloaded; retry later");
    case errc::shutting_down:
        return api_error(503, "server_error", "shutting_down", "the server is shutting down");
    case errc::context_exceeded:
        return api_error(400, "invalid_request_error", "context_length_exceeded", ec.message());
    case errc::invalid_request:
        return api_error(400, "invalid_request_error", "invalid_value", ec.message());
    default:
        return api_error(500, "server_error", "internal_error", ec.message());
    }
}

// Token ids of one prompt (string or ids), with the context check OpenAI makes.
std::vector<std::int32_t> prompt_tokens(engine& eng, const json& p, const server_config& cfg,
                                        std::size_t max_tokens, const char* param) {
    std::vector<std::int32_t> ids;
    if (p.is_string()) {
        ids = eng.tokenize(p.get<std::string>(), true);
    } else if (p.is_array()) {
        for (const auto& t : p) {
            if (!t.is_number_integer() || t.get<std::int64_t>() < 0 ||
                t.get<std::uint64_t>() >= eng.model().vocab_size) {
                throw invalid(param, "token ids must be integers in [0, " +
                                         std::to_string(eng.model().vocab_size) + ")");
            }
            ids.push_back(t.get<std::int32_t>());
        }
    } else {
        throw invalid(param, "expected a string or an array of token ids");
    }
    if (ids.empty()) {
        throw invalid(param, "the prompt is empty");
    }
    const std::size_t ctx = eng.model().context_length;
    const std::size_t limit =
        cfg.max_prompt_tokens == 0 ? ctx : std::min(ctx, cfg.max_prompt_tokens);
    if (ids.size() > limit || ids.size() + max_tokens > ctx) {
        throw api_error(
            400, "invalid_request_error", "context_length_exceeded",
            "This model's maximum context length is " + std::to_string(ctx) + " tokens" +
                (limit < ctx ? " (prompts at most " + std::to_string(limit) + ")" : std::string()) +
                ". However, you requested " + std::to_string(ids.size() + max_tokens) +
                " tokens (" + std::to_string(ids.size()) + " in the prompt, " +
                std::to_string(max_tokens) + " for the completion).",
            param);
    }
    return ids;
}

void launch(const std::shared_ptr<group>& g, engine& eng, std::vector<request> reqs,
            const std::shared_ptr<responder>& out) {
    g->choices.resize(reqs.size());
    g->remaining = reqs.size();
    g->out = out;
    for (std::size_t i = 0; i < reqs.size(); ++i) {
        g->sinks.push_back(std::make_shared<group_sink>(g, i));
    }
    out->hold(g);
    if (g->stream) {
        out->start_events();
    }
    for (std::size_t i = 0; i < reqs.size(); ++i) {
        auto h = eng.submit(std::move(reqs[i]), g->sinks[i]);
        if (!h) {
            // Already-submitted siblings are cancelled with the group.
            for (auto& handle : g->handles) {
                handle.cancel();
            }
            const auto e = submit_error(h.error());
            g->stats->request(g->endpoint, std::to_string(e.status));
            if (g->stream) {
                g->send({{"error", {{"message", e.what()}, {"type", e.type}, {"code", e.code}}}});
                out->event("[DONE]");
                out->end_events();
                return;
            }
            throw e;
        }
        g->handles.push_back(*h);
    }
}

} // namespace

void gateway::completions(const api_request& req, const std::shared_ptr<responder>& out,
                          bool chat) {
    auto eng = current_engine();
    const json j = parse_body(req.body);
    if (auto m = j.find("model"); m != j.end() && !m->is_null() &&
                                  (!m->is_string() || m->get<std::string>() != model_name_)) {
        throw api_error(404, "invalid_request_error", "model_not_found",
                        "The model '" + (m->is_string() ? m->get<std::string>() : m->dump()) +
                            "' does not exist (serving '" + model_name_ + "')",
                        "model");
    }
    auto g = std::make_shared<group>();
    g->kind = chat ? api_kind::chat : api_kind::completion;
    g->id = random_id(chat ? "chatcmpl-" : "cmpl-");
    g->model = model_name_;
    g->created = created_;
    g->endpoint = chat ? "/v1/chat/completions" : "/v1/completions";
    g->stats = &metrics_;
    g->stream = get_bool(j, "stream").value_or(false);
    if (auto so = j.find("stream_options"); so != j.end() && so->is_object()) {
        g->include_usage = get_bool(*so, "include_usage").value_or(false);
    }
    g->n = std::size_t(get_int(j, "n", 1, 16).value_or(1));
    const request base = parse_params(j, cfg_, false);
    const bool echo = !chat && get_bool(j, "echo").value_or(false);
    if (!chat) {
        if (auto lp = j.find("logprobs"); lp != j.end() && !lp->is_null()) {
            g->logprobs = int(get_int(j, "logprobs", 0, 5).value_or(0));
        }
    }
    std::vector<json> prompts;
    if (chat) {
        auto it = j.find("messages");
        if (it == j.end() || !it->is_array() || it->empty()) {
            throw invalid("messages", "expected a non-empty array of {role, content}");
        }
        std::vector<chat_message> msgs;
        for (const auto& m : *it) {
            if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
                throw invalid("messages", "every message needs a string 'role'");
            }
            std::string content;
            if (auto c = m.find("content"); c != m.end() && c->is_string()) {
                content = c->get<std::string>();
            } else if (c != m.end() && c->is_array()) { // [{type: text, text}]
                for (const auto& part : *c) {
                    if (part.is_object() && part.value("type", "") == "text" &&
                        part.contains("text") && part["text"].is_string()) {
                        content += part["text"].get<std::string>();
                    }
                }
            } else if (c != m.end() && !c->is_null()) {
                throw invalid("messages", "'content' must be a string or an array of text parts");
            }
            const auto role = m["role"].get<std::string>();
            if (role != "system" && role != "user" && role != "assistant" && role != "developer" &&
                role != "tool") {
                throw invalid("messages", "unknown role '" + role + "'");
            }
            msgs.push_back({role == "developer" ? "system" : role, content});
        }
        prompts.push_back(render_chat(chat_, msgs));
    } else {
        auto it = j.find("prompt");
        if (it == j.end() || it->is_null()) {
            throw invalid("prompt", "required");
        }
        if (it->is_string() || (it->is_array() && !it->empty() && (*it)[0].is_number())) {
            prompts.push_back(*it);
        } else if (it->is_array() && !it->empty() && it->size() <= 64) {
            for (const auto& p : *it) {
                prompts.push_back(p);
            }
        } else {
            throw invalid(
                "prompt",
                "expected a string, an array of token ids, or an array of those (at most 64)");
        }
    }
    std::vector<request> reqs;
    for (const auto& p : prompts) {
        g->echo.push_back(echo ? (p.is_string()
                                      ? p.get<std::string>()
                                      : eng->detokenize(p.get<std::vector<std::int32_t>>()))
                               : std::string());
        request r = base;
        r.prompt_ids = prompt_tokens(*eng, p, cfg_, r.max_tokens, chat ? "messages" : "prompt");
        r.logprobs = g->logprobs >= 0;
        for (std::size_t k = 0; k < g->n; ++k) {
            request rk = r;
            rk.sampling.seed = r.sampling.seed + k; // n samples differ
            reqs.push_back(std::move(rk));
        }
    }
    launch(g, *eng, std::move(reqs), out);
}

void gateway::generate(const api_request& req, const std::shared_ptr<responder>& out) {
    auto eng = current_engine();
    const json j = parse_body(req.body);
    const json params = j.contains("sampling_params") ? j["sampling_params"] : json::object();
    if (!params.is_object()) {
        throw invalid("sampling_params", "expected an object");
    }
    request r = parse_params(params, cfg_, true);
    const json* p = j.contains("input_ids") ? &j["input_ids"]
                    : j.contains("text")    ? &j["text"]
                                            : nullptr;
    if (p == nullptr) {
        throw invalid("text", "give 'text' or 'input_ids'");
    }
    r.prompt_ids =
        prompt_tokens(*eng, *p, cfg_, r.max_tokens, j.contains("input_ids") ? "input_ids" : "text");
    auto g = std::make_shared<group>();
    g->kind = api_kind::generate;
    g->id = random_id("gen-");
    g->model = model_name_;
    g->endpoint = "/generate";
    g->stats = &metrics_;
    g->stream = get_bool(j, "stream").value_or(false);
    g->echo = {std::string()};
    std::vector<request> reqs;
    reqs.push_back(std::move(r));
    launch(g, *eng, std::move(reqs), out);
}

// ---- WebSocket ----

namespace {

class ws_sink : public stream_sink {
  public:
    ws_sink(std::weak_ptr<ws_channel> ch, std::string id, gateway& gw, std::function<void()> done)
        : ch_(std::move(ch)), id_(std::move(id)), gw_(gw), done_(std::move(done)) {}
    void on_token(const token_event& e) override {
        const auto now = clock_type::now();
        if (first_) {
            gw_.stats().ttft(std::chrono::duration<double>(now - start_).count());
        } else {
            gw_.stats().inter_token(std::chrono::duration<double>(now - last_).count());
        }
        first_ = false;
        last_ = now;
        if (auto ch = ch_.lock()) {
            ch->send(dump({{"type", "token"},
                           {"id", id_},
                           {"index", e.index},
                           {"token_id", e.token},
                           {"text", e.text}}));
        }
    }
    void on_finish(const finish_event& e) override {
        gw_.stats().finished(e);
        gw_.stats().request("/v1/ws", finish_name(e.reason));
        if (auto ch = ch_.lock()) {
            if (e.reason == finish_reason::error) {
                ch->send(dump({{"type", "error"},
                               {"id", id_},
                               {"error",
                                {{"message", e.message},
                                 {"type", "server_error"},
                                 {"code", e.error.value() == int(errc::shutting_down)
                                              ? "shutting_down"
                                              : "internal_error"}}}}));
            } else {
                const auto& u = e.usage;
                ch->send(dump({{"type", "done"},
                               {"id", id_},
                               {"finish_reason", finish_name(e.reason)},
                               {"text", e.text_tail},
                               {"usage",
                                {{"prompt_tokens", u.prompt_tokens},
                                 {"completion_tokens", u.completion_tokens},
                                 {"cached_tokens", u.cached_tokens},
                                 {"queue_ms", u.queue_ms},
                                 {"ttft_ms", u.ttft_ms},
                                 {"total_ms", u.total_ms}}}}));
            }
        }
        done_();
    }

  private:
    std::weak_ptr<ws_channel> ch_;
    std::string id_;
    gateway& gw_;
    std::function<void()> done_;
    bool first_ = true;
    clock_type::time_point start_ = clock_type::now(), last_;
};

void ws_error(const std::shared_ptr<ws_channel>& ch, const json& id, const api_error& e) {
    ch->send(dump({{"type", "error"},
                   {"id", id},
                   {"error", {{"message", e.what()}, {"type", e.type}, {"code", e.code}}}}));
}

} // namespace

void gateway::ws_connection::on_message(const std::string& text) {
    auto ch = ch_.lock();
    if (!ch) {
        return;
    }
    json id = nullptr;
    try {
        const json j = parse_body(text);
        if (j.contains("id")) {
            id = j["id"];
        }
        const std::string type = j.value("type", "");
        if (!id.is_string() && !id.is_number_integer()) {
            throw invalid("id", "every message needs an 'id' (string or integer)");
        }
        const std::string key = id.dump();
        if (type == "cancel") {
            std::lock_guard lock(mutex_);
            if (auto it = active_.find(key); it != active_.end()) {
                it->second.first.cancel();
            }
            return;
        }
        if (type != "generate") {
            throw invalid("type", "expected \"generate\" or \"cancel\"");
        }
        if (gw_->shutting_down_) {
            throw api_error(503, "server_error", "shutting_down", "the server is shutting down");
        }
        {
            std::lock_guard lock(mutex_);
            if (active_.count(key)) {
                throw invalid("id", "a request with this id is already running on this socket");
            }
        }
        auto eng = gw_->current_engine();
        const json params = j.contains("params") ? j["params"] : json::object();
        if (!params.is_object()) {
            throw invalid("params", "expected an object");
        }
        request r = parse_params(params, gw_->cfg_, false);
        const json* p = j.contains("input_ids") ? &j["input_ids"]
                        : j.contains("prompt")  ? &j["prompt"]
                                                : nullptr;
        if (p == nullptr) {
            throw invalid("prompt", "give 'prompt' or 'input_ids'");
        }
        r.prompt_ids = prompt_tokens(*eng, *p, gw_->cfg_, r.max_tokens,
                                     j.contains("input_ids") ? "input_ids" : "prompt");
        // The sink removes its entry when done (if the connection still exists).
        auto sink =
            std::make_shared<ws_sink>(ch_, id.is_string() ? id.get<std::string>() : id.dump(), *gw_,
                                      [weak = weak_from_this(), key] {
                                          if (auto self = weak.lock()) {
                                              std::lock_guard lock(self->mutex_);
                                              self->active_.erase(key);
                                          }
                                      });
        std::lock_guard lock(mutex_);
        auto h = eng->submit(std::move(r), sink);
        if (!h) {
            throw submit_error(h.error());
        }
        active_[key] = {*h, sink};
    } catch (const api_error& e) {
        gw_->metrics_.request("/v1/ws", std::to_string(e.status));
        ws_error(ch, id, e);
    }
}

void gateway::ws_connection::close() {
    std::map<std::string, std::pair<request_handle, std::shared_ptr<void>>> gone;
    {
        std::lock_guard lock(mutex_);
        gone.swap(active_);
    }
    for (auto& [k, v] : gone) {
        v.first.cancel();
    }
}

} // namespace radixrt::http
