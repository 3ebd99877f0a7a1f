#include "http/gateway.hpp"

#include <chrono>
#include <filesystem>

#include "http/json_util.hpp"
#include "http/web_assets.hpp"

namespace radixrt::http {

gateway::gateway(server_config cfg)
    : cfg_(std::move(cfg)), keys_(key_table::from_config(cfg_)),
      tenants_(cfg_.max_requests_per_tenant) {
    created_ = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
}

void gateway::set_engine(std::shared_ptr<engine> e) {
    const auto& path = cfg_.engine.model_path;
    // The file name without its extension ("m110" for /models/m110.gguf),
    // unless model.name (--alias) says otherwise.
    model_name_ = !cfg_.model_name.empty() ? cfg_.model_name
                  : path.empty()           ? std::string("radixrt-builtin")
                                           : std::filesystem::path(path).stem().string();
    auto prompt = std::make_shared<const chat_prompt>(
        chat_prompt::from_config(cfg_.chat_template, e->model()));
    std::lock_guard lock(engine_mutex_);
    prompt_ = std::move(prompt);
    engine_ = std::move(e);
}

void gateway::set_load_error(std::string message) {
    std::lock_guard lock(engine_mutex_);
    load_error_ = std::move(message);
}

void gateway::answer(const std::shared_ptr<responder>& out, const std::string& endpoint,
                     const api_error& e) {
    header_list headers;
    if (e.status == 503 || e.status == 429) {
        headers.emplace_back("Retry-After", "1");
    }
    metrics_.request(endpoint, std::to_string(e.status));
    out->respond(e.status, "application/json", error_body(e), std::move(headers));
}

void gateway::reply(const std::shared_ptr<responder>& out, const std::string& endpoint,
                    const std::string& body, const char* content_type) {
    metrics_.request(endpoint, "200");
    out->respond(200, content_type, body);
}

namespace {

std::string path_of(const std::string& target) {
    return target.substr(0, target.find('?'));
}

struct route_entry {
    const char* path;
    const char* method;
};

// Every route and its method, for 404 vs 405.
constexpr route_entry routes[] = {
    {"/v1/completions", "POST"}, {"/v1/chat/completions", "POST"},
    {"/generate", "POST"},       {"/tokenize", "POST"},
    {"/detokenize", "POST"},     {"/v1/models", "GET"},
    {"/health", "GET"},          {"/metrics", "GET"},
    {"/v1/cache", "GET"},        {"/v1/cache/flush", "POST"},
    {"/v1/ws", "GET"},           {"/apply_chat_template", "POST"},
    {"/v1/models/{id}", "GET"},  {"/get_model_info", "GET"},
    {"/get_server_info", "GET"}, {"/flush_cache", "POST"},
    {"/health_generate", "GET"},
};

// The route a path belongs to: /v1/models/<id> is one route.
std::string route_of(const std::string& path) {
    const std::string models = "/v1/models/";
    return path.size() > models.size() && path.starts_with(models) ? "/v1/models/{id}" : path;
}

api_error unauthorized() {
    return api_error(401, "authentication_error", "invalid_api_key", "missing or invalid API key");
}

api_error unavailable(bool ready) {
    return ready ? api_error(503, "server_error", "shutting_down", "the server is shutting down")
                 : api_error(503, "server_error", "loading", "the model is loading");
}

api_error load_failed(const std::string& why) {
    return api_error(503, "server_error", "model_load_failed", "the model failed to load: " + why);
}

} // namespace

std::optional<principal> gateway::accept_websocket(const api_request& req,
                                                   const std::shared_ptr<responder>& out) {
    const std::string path = path_of(req.target);
    const auto who = keys_.authenticate(req.authorization);
    if (!who) {
        answer(out, path == "/v1/ws" ? path : "other", unauthorized());
        return std::nullopt;
    }
    if (path != "/v1/ws") {
        answer(out, "other",
               api_error(404, "invalid_request_error", "not_found", "no such route: " + path));
        return std::nullopt;
    }
    if (auto why = load_error()) {
        answer(out, path, load_failed(*why));
        return std::nullopt;
    }
    if (!ready() || shutting_down_) {
        answer(out, path, unavailable(ready()));
        return std::nullopt;
    }
    return who;
}

void gateway::handle(const api_request& req, const std::shared_ptr<responder>& out) {
    const std::string path = route_of(path_of(req.target));
    // HEAD is GET without a body (the HTTP session drops it).
    const std::string method = req.method == "HEAD" ? "GET" : req.method;
    if (path == "/health" && method == "GET") {
        if (auto why = load_error()) {
            metrics_.request(path, "503");
            return out->respond(503, "application/json",
                                dump({{"status", "error"}, {"error", *why}}));
        }
        return health(out); // open, for load balancers
    }
    if (cfg_.webui && method == "GET") {
        // The page is open (it asks for the key itself, for the API calls).
        if (const auto* asset = find_web_asset(path)) {
            return serve_asset(*asset, req, out);
        }
    }
    const route_entry* same_path = nullptr;
    for (const auto& r : routes) {
        if (path == r.path) {
            same_path = &r;
        }
    }
    // Authenticate first: without a key nothing is learnt, not even routes.
    const auto who = keys_.authenticate(req.authorization);
    if (!who) {
        return answer(out, same_path ? path : "other", unauthorized());
    }
    for (const auto& r : routes) {
        if (path == r.path && method == r.method) {
            return route(path, *who, req, out);
        }
    }
    if (same_path == nullptr) {
        return answer(
            out, "other",
            api_error(404, "invalid_request_error", "not_found", "no such route: " + path));
    }
    metrics_.request(path, "405");
    const api_error e(405, "invalid_request_error", "method_not_allowed",
                      req.method + " is not allowed on " + path + " (use " + same_path->method +
                          ")");
    out->respond(405, "application/json", error_body(e), {{"Allow", same_path->method}});
}

void gateway::serve_asset(const web_asset& a, const api_request& req,
                          const std::shared_ptr<responder>& out) {
    // Revalidated on every load (no-cache), so a new build's page is never
    // mixed with an old one's script; an unchanged file costs a 304.
    header_list headers = {{"ETag", std::string(a.etag)},
                           {"Cache-Control", "no-cache"},
                           {"X-Content-Type-Options", "nosniff"}};
    if (a.path == "/index.html") {
        // Only this origin's scripts and styles; data: for the inline icon.
        headers.emplace_back(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; "
            "frame-ancestors 'none'");
    }
    if (etag_matches(req.if_none_match, a.etag)) {
        metrics_.request("/ (web)", "304");
        return out->respond(304, std::string(a.content_type), "", std::move(headers));
    }
    metrics_.request("/ (web)", "200");
    out->respond(200, std::string(a.content_type), std::string(a.body), std::move(headers));
}

void gateway::route(const std::string& path, const principal& who, const api_request& req,
                    const std::shared_ptr<responder>& out) {
    try {
        if (path == "/metrics") {
            return prometheus(out);
        }
        if (auto why = load_error()) {
            throw load_failed(*why);
        }
        if (!ready()) {
            throw unavailable(false);
        }
        if (path == "/v1/models") {
            return models(out);
        }
        if (path == "/v1/models/{id}") {
            return model(path_of(req.target).substr(std::string("/v1/models/").size()), out);
        }
        if (path == "/get_model_info") {
            return model_info(out);
        }
        if (path == "/get_server_info") {
            return server_info(out);
        }
        if (path == "/tokenize") {
            return tokenize(req, out);
        }
        if (path == "/detokenize") {
            return detokenize(req, out);
        }
        if (path == "/apply_chat_template") {
            return apply_template(req, out);
        }
        if (path == "/v1/cache") {
            return cache(who, out);
        }
        if (path == "/v1/cache/flush" || path == "/flush_cache") {
            return flush(who, path, out);
        }
        if (shutting_down_) {
            throw unavailable(true);
        }
        if (path == "/v1/completions") {
            return completions(req, who, out);
        }
        if (path == "/v1/chat/completions") {
            return chat(req, who, out);
        }
        if (path == "/health_generate") {
            return health_generate(out);
        }
        return generate(req, who, out);
    } catch (const api_error& e) {
        answer(out, path, e);
    }
}

} // namespace radixrt::http
