#pragma once
// How the gateway answers, whatever the transport: the HTTP session and the
// WebSocket session implement this. Every function may be called from any
// thread (engine callbacks arrive on the scheduler's); implementations hop
// to their connection's strand.
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace radixrt::http {

using header_list = std::vector<std::pair<std::string, std::string>>;

class responder {
  public:
    virtual ~responder() = default;
    /// A complete response.
    virtual void respond(unsigned status, std::string content_type, std::string body,
                         header_list headers = {}) = 0;
    /// Starts a text/event-stream response.
    virtual void start_events() = 0;
    /// One SSE event: "data: <data>\n\n". False if the stream is gone or too far behind.
    virtual bool event(const std::string& data) = 0;
    /// Ends the event stream.
    virtual void end_events() = 0;
    /// Keeps obj alive as long as the connection: the engine holds stream
    /// sinks weakly, so a closed connection cancels its requests.
    virtual void hold(std::shared_ptr<void> obj) = 0;
};

/// A WebSocket connection, as the gateway sees it.
class ws_channel {
  public:
    virtual ~ws_channel() = default;
    /// Queues one text frame. False if the socket is gone or too far behind.
    virtual bool send(std::string text) = 0;
};

} // namespace radixrt::http
