#include "http/gateway.hpp"

#include <chrono>

#include "actors/engine_core.hpp"
#include "http/json_util.hpp"

namespace radixrt::http {

gateway::gateway(server_config cfg) : cfg_(std::move(cfg)) {
    created_ = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
}

void gateway::set_engine(std::shared_ptr<engine> e) {
    const auto& core = e->internals();
    model_name_ = !cfg_.model_name.empty() ? cfg_.model_name
                  : cfg_.engine.model_path.empty()
                      ? std::string("radixrt-builtin")
                      : cfg_.engine.model_path.substr(cfg_.engine.model_path.find_last_of('/') + 1);
    chat_ = cfg_.chat_template == "auto"
                ? detect_chat_format(
                      core.model->file().get_string("tokenizer.chat_template").value_or(""))
                : parse_chat_format(cfg_.chat_template);
    std::lock_guard lock(engine_mutex_);
    engine_ = std::move(e);
}

void gateway::error(const std::shared_ptr<responder>& out, unsigned status, const std::string& type,
                    const std::string& code, const std::string& message,
                    const std::string& endpoint) {
    json body = {
        {"error", {{"message", message}, {"type", type}, {"code", code}, {"param", nullptr}}}};
    header_list headers;
    if (status == 503) {
        headers.emplace_back("Retry-After", "1");
    }
    metrics_.request(endpoint, std::to_string(status));
    out->respond(status, "application/json", dump(body), std::move(headers));
}

namespace {

bool authorized(const server_config& cfg, const std::string& header) {
    return cfg.api_key.empty() || header == "Bearer " + cfg.api_key;
}

std::string path_of(const std::string& target) {
    return target.substr(0, target.find('?'));
}

struct route {
    const char* path;
    const char* method;
};

// Every route and its method, for 404 vs 405.
constexpr route routes[] = {
    {"/v1/completions", "POST"}, {"/v1/chat/completions", "POST"},
    {"/generate", "POST"},       {"/tokenize", "POST"},
    {"/detokenize", "POST"},     {"/v1/models", "GET"},
    {"/health", "GET"},          {"/metrics", "GET"},
    {"/v1/cache", "GET"},        {"/v1/cache/flush", "POST"},
    {"/v1/ws", "GET"},
};

} // namespace

bool gateway::accept_websocket(const api_request& req, const std::shared_ptr<responder>& out) {
    if (path_of(req.target) != "/v1/ws") {
        error(out, 404, "invalid_request_error", "not_found",
              "no such route: " + path_of(req.target), "other");
        return false;
    }
    if (!authorized(cfg_, req.authorization)) {
        error(out, 401, "authentication_error", "invalid_api_key", "missing or invalid API key",
              "/v1/ws");
        return false;
    }
    if (!ready() || shutting_down_) {
        error(out, 503, "server_error", ready() ? "shutting_down" : "loading",
              ready() ? "the server is shutting down" : "the model is loading", "/v1/ws");
        return false;
    }
    return true;
}

void gateway::handle(const api_request& req, const std::shared_ptr<responder>& out) {
    const std::string path = path_of(req.target);
    const route* found = nullptr;
    bool path_known = false;
    for (const auto& r : routes) {
        if (path == r.path) {
            path_known = true;
            if (req.method == r.method) {
                found = &r;
            }
        }
    }
    if (!path_known) {
        return error(out, 404, "invalid_request_error", "not_found", "no such route: " + path,
                     "other");
    }
    if (found == nullptr) {
        for (const auto& r : routes) {
            if (path == r.path) {
                metrics_.request(path, "405");
                json body = {{"error",
                              {{"message", req.method + " is not allowed on " + path + " (use " +
                                               r.method + ")"},
                               {"type", "invalid_request_error"},
                               {"code", "method_not_allowed"},
                               {"param", nullptr}}}};
                return out->respond(405, "application/json", dump(body), {{"Allow", r.method}});
            }
        }
    }
    if (path == "/health") {
        const bool ok = ready() && !shutting_down_;
        json body = {{"status", ok ? "ok" : (ready() ? "shutting_down" : "loading")}};
        if (auto e = current_engine()) {
            const auto st = e->stats();
            body["model"] = model_name_;
            body["running"] = st.running;
            body["waiting"] = st.waiting;
        }
        metrics_.request(path, ok ? "200" : "503");
        return out->respond(ok ? 200 : 503, "application/json", dump(body));
    }
    if (!authorized(cfg_, req.authorization)) {
        return error(out, 401, "authentication_error", "invalid_api_key",
                     "missing or invalid API key", path);
    }
    if (path == "/metrics") {
        cache_counters cc;
        auto e = current_engine();
        auto render = [this, out, e](cache_counters c) {
            metrics_.request("/metrics", "200");
            out->respond(200, "text/plain; version=0.0.4",
                         metrics_.render(e ? e->stats() : engine_stats{}, c, e != nullptr));
        };
        if (!e) {
            return render(cc);
        }
        e->internals().snapshot_cache(0, [render](actors::cache_snapshot s) {
            render({s.counters.lookups, s.counters.requested_tokens, s.counters.matched_tokens,
                    s.counters.evicted_blocks});
        });
        return;
    }
    if (!ready()) {
        return error(out, 503, "server_error", "loading", "the model is loading", path);
    }
    try {
        if (path == "/v1/models") {
            json body = {
                {"object", "list"},
                {"data",
                 json::array({{{"id", model_name_},
                               {"object", "model"},
                               {"created", created_},
                               {"owned_by", "radixrt"},
                               {"max_model_len", current_engine()->model().context_length}}})}};
            metrics_.request(path, "200");
            return out->respond(200, "application/json", dump(body));
        }
        if (path == "/tokenize") {
            return tokenize(req, out);
        }
        if (path == "/detokenize") {
            return detokenize(req, out);
        }
        if (path == "/v1/cache") {
            return cache(out);
        }
        if (path == "/v1/cache/flush") {
            return flush(out);
        }
        if (shutting_down_) {
            return error(out, 503, "server_error", "shutting_down", "the server is shutting down",
                         path);
        }
        if (path == "/v1/completions" || path == "/v1/chat/completions") {
            return completions(req, out, path == "/v1/chat/completions");
        }
        return generate(req, out);
    } catch (const api_error& e) {
        metrics_.request(path, std::to_string(e.status));
        json body = {{"error", {{"message", e.what()}, {"type", e.type}, {"code", e.code}}}};
        body["error"]["param"] = e.param.empty() ? json(nullptr) : json(e.param);
        header_list headers;
        if (e.status == 503 || e.status == 429) {
            headers.emplace_back("Retry-After", "1");
        }
        out->respond(e.status, "application/json", dump(body), std::move(headers));
    }
}

void gateway::tokenize(const api_request& req, const std::shared_ptr<responder>& out) {
    const json j = parse_body(req.body);
    const json* text = j.contains("text")     ? &j["text"]
                       : j.contains("prompt") ? &j["prompt"]
                                              : nullptr;
    if (text == nullptr || !text->is_string()) {
        throw invalid("text", "expected a string");
    }
    const bool add_special = get_bool(j, "add_special_tokens").value_or(true);
    const auto ids = current_engine()->tokenize(text->get<std::string>(), add_special);
    metrics_.request("/tokenize", "200");
    out->respond(200, "application/json", dump({{"tokens", ids}, {"count", ids.size()}}));
}

void gateway::detokenize(const api_request& req, const std::shared_ptr<responder>& out) {
    const json j = parse_body(req.body);
    auto it = j.find("tokens");
    if (it == j.end() || !it->is_array()) {
        throw invalid("tokens", "expected an array of token ids");
    }
    std::vector<std::int32_t> ids;
    const auto vocab = current_engine()->model().vocab_size;
    for (const auto& t : *it) {
        if (!t.is_number_integer() || t.get<std::int64_t>() < 0 ||
            t.get<std::uint64_t>() >= vocab) {
            throw invalid("tokens",
                          "every token must be an integer in [0, " + std::to_string(vocab) + ")");
        }
        ids.push_back(t.get<std::int32_t>());
    }
    metrics_.request("/detokenize", "200");
    out->respond(200, "application/json", dump({{"text", current_engine()->detokenize(ids)}}));
}

void gateway::cache(const std::shared_ptr<responder>& out) {
    auto self = shared_from_this();
    current_engine()->internals().snapshot_cache(512, [self, out](actors::cache_snapshot s) {
        json nodes = json::array(), convergence = json::array(), groups = json::array();
        for (const auto& n : s.graph.nodes) {
            nodes.push_back({{"id", runtime::to_int(n.id)},
                             {"parent", runtime::to_int(n.parent)},
                             {"namespace", n.ns},
                             {"tokens", n.tokens},
                             {"depth_tokens", n.depth_tokens},
                             {"locks", n.locks},
                             {"hits", n.hits},
                             {"last_access", n.last_access},
                             {"live_requests", n.live_requests}});
        }
        for (auto c : s.graph.convergence) {
            convergence.push_back(runtime::to_int(c));
        }
        for (const auto& g : s.groups) {
            json ids = json::array();
            for (auto r : g.requests) {
                ids.push_back(runtime::to_int(r));
            }
            groups.push_back(
                {{"namespace", g.ns}, {"shared_tokens", g.shared_tokens}, {"requests", ids}});
        }
        const auto& c = s.counters;
        json body = {
            {"enabled", s.enabled},
            {"block_size", s.block_size},
            {"cached_blocks", s.cached_blocks},
            {"evictable_tokens", s.evictable_tokens},
            {"protected_tokens", s.protected_tokens},
            {"hits",
             {{"lookups", c.lookups},
              {"requested_tokens", c.requested_tokens},
              {"matched_tokens", c.matched_tokens},
              {"hit_rate",
               c.requested_tokens ? double(c.matched_tokens) / double(c.requested_tokens) : 0.0},
              {"inserts", c.inserts},
              {"inserted_tokens", c.inserted_tokens},
              {"evicted_blocks", c.evicted_blocks}}},
            {"savings",
             {{"requested_prefill_tokens", s.savings.requested_prefill_tokens},
              {"cached_prefill_tokens", s.savings.cached_prefill_tokens},
              {"live_tokens", s.savings.live_tokens},
              {"live_shared_tokens", s.savings.live_shared_tokens}}},
            {"prefix_groups", groups},
            {"graph",
             {{"nodes", nodes}, {"convergence", convergence}, {"truncated", s.graph.truncated}}},
        };
        self->metrics_.request("/v1/cache", "200");
        out->respond(200, "application/json", dump(body));
    });
}

void gateway::flush(const std::shared_ptr<responder>& out) {
    auto self = shared_from_this();
    current_engine()->internals().flush_cache([self, out](std::size_t n) {
        self->metrics_.request("/v1/cache/flush", "200");
        out->respond(200, "application/json", dump({{"flushed_blocks", n}}));
    });
}

} // namespace radixrt::http
