#pragma once
// One WebSocket connection on /v1/ws: JSON text frames in, token events out
// (docs/websocket.md). A bounded outgoing queue with one write in flight;
// closing the socket cancels every request still running on it.
#include <atomic>
#include <deque>
#include <memory>
#include <string>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "http/gateway.hpp"
#include "http/session_registry.hpp"
#include "http/websocket_protocol.hpp"

namespace radixrt::http {

class websocket_session : public ws_channel,
                          public connection,
                          public std::enable_shared_from_this<websocket_session> {
  public:
    websocket_session(boost::asio::ip::tcp::socket socket, std::shared_ptr<gateway> gw,
                      principal who);
    ~websocket_session() override;
    /// Accepts the upgrade; the session stays in registry until it ends.
    /// subprotocol: the Sec-WebSocket-Protocol to answer with ("" for none).
    void run(boost::beast::http::request<boost::beast::http::string_body> req,
             std::shared_ptr<session_registry> registry, std::string subprotocol = {});
    bool send(std::string text) override;
    void close() override;

  private:
    void do_read();
    void on_read(boost::beast::error_code ec, std::size_t);
    void do_write();
    void on_write(boost::beast::error_code ec, std::size_t);
    void fail();

    boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
    boost::beast::flat_buffer buffer_;
    std::shared_ptr<gateway> gw_;
    principal who_;
    std::shared_ptr<session_registry> registry_;
    std::shared_ptr<ws_connection> conn_;
    std::deque<std::string> queue_;
    bool writing_ = false;
    std::atomic<bool> open_{false};
    std::atomic<std::size_t> queued_bytes_{0};
};

} // namespace radixrt::http
