#pragma once
// The WebSocket protocol of /v1/ws (docs/websocket.md), per connection:
// JSON messages in (generate, cancel), each generate becoming a request
// group with the WebSocket formatter; closing the socket cancels them all.
// Independent of Beast: websocket_session feeds it text frames.
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "http/gateway.hpp"
#include "http/json_util.hpp"
#include "http/request_group.hpp"

namespace radixrt::http {

class ws_connection : public std::enable_shared_from_this<ws_connection> {
  public:
    ws_connection(std::shared_ptr<gateway> gw, std::weak_ptr<ws_channel> ch, principal who)
        : gw_(std::move(gw)), ch_(std::move(ch)), who_(std::move(who)),
          quota_(std::make_shared<quota>(gw_->config().max_requests_per_connection)) {}
    void on_message(const std::string& text);
    /// A binary frame: refused (the protocol is JSON text).
    void on_binary();
    /// The socket is closing: cancel everything in flight.
    void close();

  private:
    void generate(const json& msg, const std::string& text, const json& id, const std::string& key);
    void refuse(const json& id, const api_error& e);

    std::shared_ptr<gateway> gw_;
    std::weak_ptr<ws_channel> ch_;
    const principal who_;
    std::shared_ptr<quota> quota_; // requests of this socket, queued or running
    std::mutex mutex_;             // never held while calling into a group
    std::map<std::string, std::shared_ptr<request_group>> active_; // by id (as JSON text)
};

} // namespace radixrt::http
