#pragma once
// The gateway's network side: a listener on its own io_context threads,
// HTTP and WebSocket sessions, and graceful shutdown.
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "http/gateway.hpp"
#include "http/http_session.hpp"

namespace radixrt::http {

class server {
  public:
    server(server_config cfg);
    ~server();

    /// Binds and starts accepting (throws std::runtime_error if the address
    /// cannot be bound). Then loads the engine in the background: /health
    /// answers 503 "loading" until it is ready, 503 "error" if the load
    /// failed. on_loaded(ok, message) reports the load.
    void start(std::function<void(bool, const std::string&)> on_loaded = {});
    unsigned port() const { return port_; }
    std::shared_ptr<gateway> api() { return gw_; }

    /// Graceful shutdown: /health answers 503 at once; after the drain grace
    /// (server.drain_grace_ms, default 0) stop accepting, let running requests finish within
    /// the drain timeout, end the rest with an error, close connections.
    void shutdown();
    /// Blocks until shutdown() has finished.
    void wait();

  private:
    void do_accept();

    server_config cfg_;
    std::shared_ptr<gateway> gw_;
    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::shared_ptr<session_registry> sessions_;
    std::shared_ptr<const cors_policy> cors_;
    std::vector<std::thread> threads_;
    std::thread loader_;
    unsigned port_ = 0;
    std::mutex mutex_;
    bool stopped_ = false;
    std::promise<void> done_;
    std::shared_future<void> done_future_ = done_.get_future().share();
};

} // namespace radixrt::http
