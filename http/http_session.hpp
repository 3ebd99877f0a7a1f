#pragma once
// One HTTP/1.1 connection: reads requests (keep-alive), hands them to the
// gateway, writes the answers from a bounded queue with one write in
// flight. While a request is being answered the session watches the socket
// for readability: a client that goes away is noticed at once and its
// requests are cancelled. An SSE response closes the connection at its end.
// CORS is applied here, to every answer: http/cors.hpp.
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "http/cors.hpp"
#include "http/gateway.hpp"
#include "http/session_registry.hpp"

namespace radixrt::http {

namespace beast = boost::beast;
namespace net = boost::asio;

class http_session : public connection, public std::enable_shared_from_this<http_session> {
  public:
    http_session(net::ip::tcp::socket socket, std::shared_ptr<gateway> gw,
                 std::shared_ptr<session_registry> reg, std::shared_ptr<const cors_policy> cors);
    ~http_session() override;
    void run();
    /// Rejects the connection at once (too many connections).
    void refuse();
    /// Closes the connection (from any thread); its requests are cancelled.
    void close() override;

  private:
    class responder_impl;
    friend class responder_impl;

    void do_read();
    void on_read(beast::error_code ec, std::size_t);
    bool admit(const beast::http::request<beast::http::string_body>& req, header_list& cors);
    void upgrade(beast::http::request<beast::http::string_body> req, header_list cors);
    void preflight(unsigned version, bool from_page, bool allowed, const std::string& origin,
                   std::string_view requested_headers);
    static std::string refused_origin();
    void watch();
    void enqueue(std::string bytes, bool ends_response);
    void do_write();
    void on_write(beast::error_code ec, std::size_t);
    void shut();

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
    std::shared_ptr<gateway> gw_;
    std::shared_ptr<session_registry> registry_;
    std::shared_ptr<const cors_policy> cors_;
    std::deque<std::pair<std::string, bool>> queue_; // (bytes, ends the response)
    bool writing_ = false;
    bool keep_alive_ = true;
    bool streaming_ = false;
    bool closed_ = false;
    bool watching_ = false;                   // an async_wait for readability is pending
    bool resume_read_ = false;                // read the next request once the watch is cancelled
    bool pipelined_ = false;                  // the client sent requests without waiting
    bool peer_done_ = false;                  // ... then half-closed: answer them all
    std::shared_ptr<http_session> keepalive_; // set while a request is being answered
    std::shared_ptr<responder> current_;      // its responder (the gateway holds it weakly)
    std::atomic<bool> closed_flag_{false};    // closed_, readable from other threads
    std::atomic<std::size_t> queued_bytes_{0};
    std::vector<std::shared_ptr<void>> held_; // request state living as long as its response
};

} // namespace radixrt::http
