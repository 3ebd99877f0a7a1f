// Endpoints that describe the server: health, models, tokenize/detokenize,
// Prometheus metrics, the prefix cache (/v1/cache) and its flush.
#include "http/gateway.hpp"
#include "http/json_util.hpp"

namespace radixrt::http {

namespace {

json cache_json(const cache_snapshot& s) {
    json nodes = json::array(), groups = json::array();
    for (const auto& n : s.nodes) {
        nodes.push_back({{"id", n.id},
                         {"parent", n.parent},
                         {"namespace", n.ns},
                         {"tokens", n.tokens},
                         {"depth_tokens", n.depth_tokens},
                         {"locks", n.locks},
                         {"hits", n.hits},
                         {"last_access", n.last_access},
                         {"live_requests", n.live_requests}});
    }
    for (const auto& g : s.groups) {
        groups.push_back(
            {{"namespace", g.ns}, {"shared_tokens", g.shared_tokens}, {"requests", g.requests}});
    }
    const auto& c = s.counters;
    json hits = {{"lookups", c.lookups},
                 {"requested_tokens", c.requested_tokens},
                 {"matched_tokens", c.matched_tokens},
                 {"hit_rate",
                  c.requested_tokens ? double(c.matched_tokens) / double(c.requested_tokens) : 0.0},
                 {"inserts", c.inserts},
                 {"inserted_tokens", c.inserted_tokens},
                 {"evicted_blocks", c.evicted_blocks}};
    json savings = {{"requested_prefill_tokens", s.saved.requested_prefill_tokens},
                    {"cached_prefill_tokens", s.saved.cached_prefill_tokens},
                    {"live_tokens", s.saved.live_tokens},
                    {"live_shared_tokens", s.saved.live_shared_tokens}};
    return {
        {"scope", s.scoped ? "tenant" : "all"},
        {"enabled", s.enabled},
        {"capacity_tokens", s.capacity_tokens},
        {"kv_type", s.kv_type},
        {"block_size", s.block_size},
        {"cached_blocks", s.cached_blocks},
        {"evictable_tokens", s.evictable_tokens},
        {"protected_tokens", s.protected_tokens},
        {"hits", s.scoped ? json(nullptr) : hits}, // over every tenant: admins only
        {"savings", s.scoped ? json(nullptr) : savings},
        {"prefix_groups", groups},
        {"graph", {{"nodes", nodes}, {"convergence", s.convergence}, {"truncated", s.truncated}}},
    };
}

} // namespace

void gateway::health(const std::shared_ptr<responder>& out) {
    const bool ok = ready() && !draining_;
    const char* status = ok               ? "ok"
                         : !ready()       ? "loading"
                         : shutting_down_ ? "shutting_down"
                                          : "draining";
    json body = {{"status", status}};
    if (auto e = current_engine()) {
        const auto st = e->stats();
        body["model"] = model_name_;
        body["running"] = st.running;
        body["waiting"] = st.waiting;
    }
    metrics_.request("/health", ok ? "200" : "503");
    out->respond(ok ? 200 : 503, "application/json", dump(body));
}

json gateway::model_card() const {
    return {{"id", model_name_},
            {"object", "model"},
            {"created", created_},
            {"owned_by", "radixrt"},
            {"max_model_len", current_engine()->model().context_length}};
}

void gateway::models(const std::shared_ptr<responder>& out) {
    reply(out, "/v1/models", dump({{"object", "list"}, {"data", json::array({model_card()})}}));
}

void gateway::model(const std::string& id, const std::shared_ptr<responder>& out) {
    if (id != model_name_) {
        throw api_error(404, "invalid_request_error", "model_not_found",
                        "The model '" + id + "' does not exist (serving '" + model_name_ + "')",
                        "model");
    }
    reply(out, "/v1/models/{id}", dump(model_card()));
}

void gateway::tokenize(const api_request& req, const std::shared_ptr<responder>& out) {
    const json j = parse_body(req.body, cfg_.max_json_depth);
    // The text as SGLang (text), vLLM (prompt) or llama.cpp (content) name it.
    const char* key = j.contains("text") ? "text" : j.contains("prompt") ? "prompt" : "content";
    const auto text = j.find(key);
    if (text == j.end() || !text->is_string()) {
        throw invalid(key, "expected a string (give text, prompt or content)");
    }
    for (const auto& [k, v] : j.items()) {
        if (k != key && k != "add_special_tokens" && k != "add_special" && k != "parse_special" &&
            k != "model") {
            throw invalid(k, "unknown field (expected text, prompt or content, "
                             "add_special_tokens or add_special, and parse_special)");
        }
    }
    const bool add_special =
        get_bool(j, "add_special_tokens").value_or(get_bool(j, "add_special").value_or(true));
    // llama.cpp's parse_special: control-token texts become their ids (off by default here).
    const bool parse_special = get_bool(j, "parse_special").value_or(false);
    const auto ids =
        current_engine()->tokenize(text->get<std::string>(), add_special, parse_special);
    reply(out, "/tokenize", dump({{"tokens", ids}, {"count", ids.size()}}));
}

void gateway::detokenize(const api_request& req, const std::shared_ptr<responder>& out) {
    const json j = parse_body(req.body, cfg_.max_json_depth);
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
    reply(out, "/detokenize", dump({{"text", current_engine()->detokenize(ids)}}));
}

void gateway::prometheus(const std::shared_ptr<responder>& out) {
    auto e = current_engine();
    reply(out, "/metrics", metrics_.render(e ? e->stats() : engine_stats{}, e != nullptr),
          "text/plain; version=0.0.4");
}

void gateway::cache(const principal& who, const std::shared_ptr<responder>& out) {
    auto self = shared_from_this();
    cache_query q{512, cache_scope(who)};
    current_engine()->cache_snapshot(std::move(q), [self, out](expected<cache_snapshot> s) {
        if (!s) {
            return self->answer(out, "/v1/cache", from_engine(s.error()));
        }
        self->reply(out, "/v1/cache", dump(cache_json(*s)));
    });
}

void gateway::flush(const principal& who, const std::string& endpoint,
                    const std::shared_ptr<responder>& out) {
    if (!who.admin) {
        throw api_error(403, "permission_error", "permission_denied",
                        "flushing the cache needs an admin key");
    }
    auto self = shared_from_this();
    current_engine()->flush_cache([self, out, endpoint](expected<std::size_t> n) {
        if (!n) {
            return self->answer(out, endpoint, from_engine(n.error()));
        }
        self->reply(out, endpoint, dump({{"flushed_blocks", *n}}));
    });
}

} // namespace radixrt::http
