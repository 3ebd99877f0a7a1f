#pragma once
// The HTTP API, independent of sockets: routes a parsed request to its
// endpoint and answers through a responder. OpenAI-compatible completions and
// chat (with SSE streaming), SGLang's /generate, tokenize/detokenize, models,
// health, Prometheus metrics, cache introspection and flush; plus the
// WebSocket token-stream protocol (docs/websocket.md).
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "http/chat_template.hpp"
#include "http/config.hpp"
#include "http/metrics.hpp"
#include "http/responder.hpp"
#include "radixrt/engine.hpp"

namespace radixrt::http {

struct api_request {
    std::string method;
    std::string target; // path (and query)
    std::string authorization;
    std::string body;
};

class gateway : public std::enable_shared_from_this<gateway> {
  public:
    explicit gateway(server_config cfg);

    /// Makes the API live once the engine has loaded (before that: 503).
    void set_engine(std::shared_ptr<engine> e);
    /// Refuses new generation work with 503 from now on.
    void begin_shutdown() { shutting_down_ = true; }
    bool ready() const { return current_engine() != nullptr; }
    std::shared_ptr<engine> current_engine() const {
        std::lock_guard lock(engine_mutex_);
        return engine_;
    }
    const server_config& config() const { return cfg_; }
    http::metrics& stats() { return metrics_; }

    void handle(const api_request& req, const std::shared_ptr<responder>& out);
    /// Whether target is the WebSocket endpoint and the caller may use it
    /// (else the answer has been sent through out).
    bool accept_websocket(const api_request& req, const std::shared_ptr<responder>& out);

    /// Per-connection WebSocket protocol state.
    class ws_connection : public std::enable_shared_from_this<ws_connection> {
      public:
        ws_connection(std::shared_ptr<gateway> gw, std::shared_ptr<ws_channel> ch)
            : gw_(std::move(gw)), ch_(ch) {}
        void on_message(const std::string& text);
        /// The socket is closing: cancel everything in flight.
        void close();

      private:
        friend class gateway;
        std::shared_ptr<gateway> gw_;
        std::weak_ptr<ws_channel> ch_;
        std::mutex mutex_;
        std::map<std::string, std::pair<request_handle, std::shared_ptr<void>>> active_;
    };

  private:
    void error(const std::shared_ptr<responder>& out, unsigned status, const std::string& type,
               const std::string& code, const std::string& message, const std::string& endpoint);
    void completions(const api_request& req, const std::shared_ptr<responder>& out, bool chat);
    void generate(const api_request& req, const std::shared_ptr<responder>& out);
    void tokenize(const api_request& req, const std::shared_ptr<responder>& out);
    void detokenize(const api_request& req, const std::shared_ptr<responder>& out);
    void cache(const std::shared_ptr<responder>& out);
    void flush(const std::shared_ptr<responder>& out);

    server_config cfg_;
    // Set once by the loader thread. A mutex rather than atomic<shared_ptr>:
    // libstdc++ 12 implements that with a lock bit TSan cannot model.
    mutable std::mutex engine_mutex_;
    std::shared_ptr<engine> engine_;
    std::atomic<bool> shutting_down_{false};
    chat_format chat_ = chat_format::simple;
    std::string model_name_;
    std::int64_t created_ = 0;
    http::metrics metrics_;
};

} // namespace radixrt::http
