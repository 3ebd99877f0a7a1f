#pragma once
// The HTTP API, independent of sockets: routes a parsed request to its
// endpoint and answers through a responder. OpenAI-compatible completions and
// chat (with SSE streaming), SGLang's /generate, /apply_chat_template, tokenize/detokenize, models,
// health, Prometheus metrics, cache introspection and flush. Uses only the
// public engine API. The WebSocket protocol is websocket_protocol.hpp.
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "http/api_error.hpp"
#include "http/auth.hpp"
#include "http/chat_prompt.hpp"
#include "http/config.hpp"
#include "http/json_util.hpp"
#include "http/metrics.hpp"
#include "http/web_assets.hpp"
#include "http/quota.hpp"
#include "http/responder.hpp"
#include "radixrt/engine.hpp"

namespace radixrt::http {

class request_group;

struct api_request {
    std::string method;
    std::string target; // path (and query)
    std::string authorization;
    std::string if_none_match; // for the playground's files (ETag)
    std::string body;
};

class gateway : public std::enable_shared_from_this<gateway> {
  public:
    explicit gateway(server_config cfg);

    /// Makes the API live once the engine has loaded (before that: 503).
    void set_engine(std::shared_ptr<engine> e);
    /// /health answers 503 ("draining") from now on; requests are still served.
    void begin_draining() { draining_ = true; }
    bool draining() const { return draining_; }
    /// Refuses new generation work with 503 from now on.
    void begin_shutdown() {
        draining_ = true;
        shutting_down_ = true;
    }
    bool shutting_down() const { return shutting_down_; }
    bool ready() const { return current_engine() != nullptr; }
    /// The engine failed to load: /health and every route answer 503 with
    /// status "error" (never "loading") from now on.
    void set_load_error(std::string message);
    std::optional<std::string> load_error() const {
        std::lock_guard lock(engine_mutex_);
        return load_error_;
    }
    std::shared_ptr<engine> current_engine() const {
        std::lock_guard lock(engine_mutex_);
        return engine_;
    }
    const server_config& config() const { return cfg_; }
    http::metrics& stats() { return metrics_; }
    /// The model name the API serves.
    const std::string& model_name() const { return model_name_; }

    void handle(const api_request& req, const std::shared_ptr<responder>& out);
    /// The caller, if target is the WebSocket endpoint and the caller may
    /// use it (else the answer has been sent through out).
    std::optional<principal> accept_websocket(const api_request& req,
                                              const std::shared_ptr<responder>& out);
    /// The quota of a tenant's requests.
    std::shared_ptr<quota> tenant_quota(const principal& who) { return tenants_.of(who.tenant); }

  private:
    void route(const std::string& path, const principal& who, const api_request& req,
               const std::shared_ptr<responder>& out);
    void answer(const std::shared_ptr<responder>& out, const std::string& endpoint,
                const api_error& e);
    void reply(const std::shared_ptr<responder>& out, const std::string& endpoint,
               const std::string& body, const char* content_type = "application/json");
    // generation_endpoints.cpp
    void completions(const api_request& req, const principal& who,
                     const std::shared_ptr<responder>& out);
    void chat(const api_request& req, const principal& who, const std::shared_ptr<responder>& out);
    void generate(const api_request& req, const principal& who,
                  const std::shared_ptr<responder>& out);
    void apply_template(const api_request& req, const std::shared_ptr<responder>& out);
    void launch(std::shared_ptr<request_group> g, std::vector<request> reqs,
                const param_names& names, const principal& who,
                const std::shared_ptr<responder>& out);
    // introspection_endpoints.cpp
    void health(const std::shared_ptr<responder>& out);
    void serve_asset(const web_asset& a, const api_request& req,
                     const std::shared_ptr<responder>& out);
    void models(const std::shared_ptr<responder>& out);
    void model(const std::string& id, const std::shared_ptr<responder>& out);
    json model_card() const;
    void tokenize(const api_request& req, const std::shared_ptr<responder>& out);
    void detokenize(const api_request& req, const std::shared_ptr<responder>& out);
    void prometheus(const std::shared_ptr<responder>& out);
    void cache(const principal& who, const std::shared_ptr<responder>& out);
    void flush(const principal& who, const std::string& endpoint,
               const std::shared_ptr<responder>& out);
    // sglang_endpoints.cpp
    void model_info(const std::shared_ptr<responder>& out);
    void server_info(const std::shared_ptr<responder>& out);
    void health_generate(const std::shared_ptr<responder>& out);

    server_config cfg_;
    key_table keys_;
    tenant_quotas tenants_;
    // Set once by the loader thread. A mutex rather than atomic<shared_ptr>:
    // libstdc++ 12 implements that with a lock bit TSan cannot model.
    mutable std::mutex engine_mutex_;
    std::shared_ptr<engine> engine_;
    std::optional<std::string> load_error_;
    std::atomic<bool> draining_{false};
    std::atomic<bool> shutting_down_{false};
    std::shared_ptr<const chat_prompt> prompt_; // set with the engine, before it

    std::string model_name_;
    std::int64_t created_ = 0;
    http::metrics metrics_;
};

} // namespace radixrt::http
