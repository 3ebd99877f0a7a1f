#include "http/http_session.hpp"

#include <sstream>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/websocket.hpp>

#include "http/websocket_auth.hpp"
#include "http/websocket_session.hpp"

namespace radixrt::http {

namespace bhttp = beast::http;

// The gateway's view of this session; safe from any thread.
class http_session::responder_impl : public responder {
  public:
    // cors: the headers every response carries (an allowed page's origin).
    responder_impl(std::weak_ptr<http_session> s, bool keep_alive, unsigned version,
                   bool head = false, header_list cors = {})
        : s_(std::move(s)), keep_alive_(keep_alive), version_(version), head_(head),
          cors_(std::move(cors)) {}

    void respond(unsigned status, std::string content_type, std::string body,
                 header_list headers) override {
        bhttp::response<bhttp::string_body> res{bhttp::status(status), version_};
        res.set(bhttp::field::server, "radixrt");
        if (!content_type.empty()) {
            res.set(bhttp::field::content_type, content_type);
        }
        for (auto& [k, v] : cors_) {
            res.set(k, v);
        }
        for (auto& [k, v] : headers) {
            res.set(k, v);
        }
        res.keep_alive(keep_alive_);
        res.body() = std::move(body);
        res.prepare_payload();
        if (status == 204) {
            res.erase(bhttp::field::content_length); // not allowed on 204 (RFC 9110)
        }
        std::ostringstream os;
        if (head_) {
            os << res.base(); // HEAD: GET's headers (Content-Length too), no body
        } else {
            os << res;
        }
        post(os.str(), true, !keep_alive_);
    }
    void start_events() override {
        // SSE: no length, so the connection closes when the stream ends.
        std::string head = "HTTP/1.1 200 OK\r\nServer: radixrt\r\nContent-Type: "
                           "text/event-stream\r\nCache-Control: no-cache\r\n"
                           "Connection: close\r\nX-Accel-Buffering: no\r\n";
        for (const auto& [k, v] : cors_) {
            head += k + ": " + v + "\r\n";
        }
        post(head + "\r\n", false, true, true);
    }
    bool event(const std::string& data) override {
        auto s = s_.lock();
        if (!s || s->closed_flag_.load()) {
            return false;
        }
        if (s->queued_bytes_.load() > s->gw_->config().max_stream_buffer_bytes) {
            s->close(); // too far behind: this stream only is dropped
            return false;
        }
        post("data: " + data + "\n\n", false, false);
        return true;
    }
    void end_events() override { post(std::string(), true, true); }
    void hold(std::shared_ptr<void> obj) override {
        if (auto s = s_.lock()) {
            net::post(s->stream_.get_executor(),
                      [s, obj = std::move(obj)] { s->held_.push_back(obj); });
        }
    }

  private:
    void post(std::string bytes, bool ends, bool close_after, bool starts_stream = false) {
        auto s = s_.lock();
        if (!s) {
            return;
        }
        s->queued_bytes_ += bytes.size();
        net::post(s->stream_.get_executor(),
                  [s, bytes = std::move(bytes), ends, close_after, starts_stream]() mutable {
                      if (starts_stream) {
                          s->streaming_ = true;
                      }
                      if (close_after) {
                          s->keep_alive_ = false;
                      }
                      s->enqueue(std::move(bytes), ends);
                  });
    }

    std::weak_ptr<http_session> s_;
    bool keep_alive_;
    unsigned version_;
    bool head_;
    header_list cors_;
};

http_session::http_session(net::ip::tcp::socket socket, std::shared_ptr<gateway> gw,
                           std::shared_ptr<session_registry> reg,
                           std::shared_ptr<const cors_policy> cors)
    : stream_(std::move(socket)), gw_(std::move(gw)), registry_(std::move(reg)),
      cors_(std::move(cors)) {}

http_session::~http_session() {
    registry_->remove(this);
}

void http_session::run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
}

void http_session::refuse() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
        auto r = std::make_shared<responder_impl>(self, false, 11);
        r->respond(503, "application/json",
                   error_body(api_error(503, "server_error", "overloaded", "too many connections")),
                   {{"Retry-After", "1"}});
    });
}

void http_session::close() {
    closed_flag_ = true;
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->shut(); });
}

void http_session::shut() {
    auto self = shared_from_this(); // keepalive_ may hold the last reference
    keepalive_.reset();
    if (closed_) {
        return;
    }
    closed_ = true;
    closed_flag_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec); // benign if already gone
    stream_.close();
    held_.clear(); // drops the stream sinks: the engine cancels their requests
    current_.reset();
    queue_.clear();
}

void http_session::do_read() {
    if (closed_) {
        return;
    }
    parser_.emplace();
    parser_->body_limit(gw_->config().max_body_bytes);
    parser_->header_limit(16 * 1024);
    // The whole request must arrive in time (a slowloris client is dropped);
    // an idle keep-alive connection is closed after the same time.
    stream_.expires_after(gw_->config().header_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::body_limit) {
        auto r = std::make_shared<responder_impl>(shared_from_this(), false, 11);
        r->respond(413, "application/json",
                   error_body(api_error(413, "invalid_request_error", "payload_too_large",
                                        "the request body is larger than the limit")),
                   {});
        return;
    }
    if (ec) {
        // end_of_stream, timeout, reset, malformed: nothing to answer
        if (ec != bhttp::error::end_of_stream && ec != beast::error::timeout &&
            ec != net::error::operation_aborted && ec != net::error::connection_reset && !closed_) {
            auto r = std::make_shared<responder_impl>(shared_from_this(), false, 11);
            r->respond(400, "application/json",
                       error_body(api_error(400, "invalid_request_error", "bad_request",
                                            "malformed HTTP request")),
                       {});
            return;
        }
        return shut();
    }
    auto req = parser_->release();
    stream_.expires_never();
    keep_alive_ = req.keep_alive();
    header_list cors;
    if (!admit(req, cors)) {
        return; // answered already: a preflight or a refused page
    }
    if (beast::websocket::is_upgrade(req)) {
        return upgrade(std::move(req), std::move(cors));
    }
    api_request ar{std::string(req.method_string()), std::string(req.target()),
                   std::string(req[bhttp::field::authorization]),
                   std::string(req[bhttp::field::if_none_match]), std::move(req.body())};
    keepalive_ = shared_from_this();
    current_ = std::make_shared<responder_impl>(shared_from_this(), keep_alive_, req.version(),
                                                req.method() == bhttp::verb::head, cors);
    if (buffer_.size() > 0) {
        pipelined_ = true; // the next request came with this one
    }
    if (!peer_done_) {
        watch();
    }
    gw_->handle(ar, current_);
}

// CORS: a browser names the page it runs in (Origin); requests without it
// come from other clients and are not subject to CORS. Answers preflights
// and refused pages itself (false); else cors is what every answer carries.
bool http_session::admit(const bhttp::request<bhttp::string_body>& req, header_list& cors) {
    const bool from_page = req.find(bhttp::field::origin) != req.end();
    const std::string origin(req[bhttp::field::origin]);
    const bool allowed = !from_page || cors_->allows(origin, req[bhttp::field::host]);
    if (req.method() == bhttp::verb::options) {
        preflight(req.version(), from_page, allowed, origin,
                  req[bhttp::field::access_control_request_headers]);
        return false;
    }
    if (!allowed) {
        // Not even a "simple" request (no preflight) from a refused page
        // runs; for /v1/ws this is the WebSocket's Origin check.
        auto r = std::make_shared<responder_impl>(shared_from_this(), keep_alive_, req.version());
        r->respond(403, "application/json", refused_origin(), {});
        return false;
    }
    if (from_page) {
        cors = cors_policy::response_headers(origin);
    }
    return true;
}

// A WebSocket upgrade: the key may also come as a subprotocol or a query
// parameter (browsers cannot set Authorization); the session takes over
// the socket.
void http_session::upgrade(bhttp::request<bhttp::string_body> req, header_list cors) {
    auto creds = websocket_credentials_of(req[bhttp::field::authorization],
                                          req[bhttp::field::sec_websocket_protocol], req.target());
    api_request ar; // no body: the upgrade carries none
    ar.method = std::string(req.method_string());
    ar.target = std::string(req.target());
    ar.authorization = std::move(creds.authorization);
    auto r = std::make_shared<responder_impl>(shared_from_this(), false, req.version(), false,
                                              std::move(cors));
    if (auto who = gw_->accept_websocket(ar, r)) {
        auto ws = std::make_shared<websocket_session>(stream_.release_socket(), gw_, *who);
        registry_->replace(this, ws); // the WebSocket keeps counting as a connection
        ws->run(std::move(req), registry_, std::move(creds.subprotocol));
        closed_ = true;
    }
}

// OPTIONS: a browser's preflight asks whether the page may send the real
// request. Answered here, before authentication (browsers send no key with
// it); a refused page gets 403 with no Access-Control headers.
void http_session::preflight(unsigned version, bool from_page, bool allowed,
                             const std::string& origin, std::string_view requested_headers) {
    auto r = std::make_shared<responder_impl>(shared_from_this(), keep_alive_, version);
    if (!from_page) {
        r->respond(204, "", "", {{"Allow", "GET, POST, OPTIONS"}});
    } else if (allowed) {
        r->respond(204, "", "", cors_policy::preflight_headers(origin, requested_headers));
    } else {
        r->respond(403, "application/json", refused_origin(), {});
    }
}

std::string http_session::refused_origin() {
    return error_body(api_error(403, "invalid_request_error", "origin_not_allowed",
                                "this page's origin may not call the API (see "
                                "server.cors.allowed_origins)"));
}

// While a request is answered: wait for readability. End of file means the
// client went away (its requests are then cancelled), unless it pipelined
// its requests (then it only half-closed and waits for the answers); data
// means a pipelined request, left in the socket for the next read.
void http_session::watch() {
    watching_ = true;
    stream_.socket().async_wait(
        net::ip::tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
            self->watching_ = false;
            if (self->resume_read_) { // the response ended meanwhile: read the next request
                self->resume_read_ = false;
                return self->do_read();
            }
            if (ec == net::error::operation_aborted || self->closed_) {
                return;
            }
            std::size_t n = 0;
            if (!ec) {
                char c;
                auto& sock = self->stream_.socket();
                sock.non_blocking(true, ec); // never block an io thread on a spurious wake-up
                if (!ec) {
                    n = sock.receive(net::buffer(&c, 1), net::socket_base::message_peek, ec);
                }
                if (ec == net::error::would_block || ec == net::error::try_again) {
                    return self->watch();
                }
            }
            const bool eof = ec == net::error::eof || (!ec && n == 0);
            if (eof && self->pipelined_) {
                // A client that pipelined its requests and then half-closed
                // its side: it waits for every answer. Stop watching.
                self->peer_done_ = true;
                return;
            }
            if (ec || n == 0) {
                self->shut(); // the client closed the connection
                return;
            }
            self->pipelined_ = true; // a pipelined request waits in the socket
        });
}

void http_session::enqueue(std::string bytes, bool ends_response) {
    if (closed_) {
        queued_bytes_ -= bytes.size();
        return;
    }
    queue_.emplace_back(std::move(bytes), ends_response);
    if (!writing_) {
        do_write();
    }
}

void http_session::do_write() {
    writing_ = true;
    net::async_write(stream_, net::buffer(queue_.front().first),
                     beast::bind_front_handler(&http_session::on_write, shared_from_this()));
}

void http_session::on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec || closed_) {
        return shut(); // a broken pipe: the client is gone
    }
    const bool ends = queue_.front().second;
    queued_bytes_ -= queue_.front().first.size();
    queue_.pop_front();
    if (!queue_.empty()) {
        return do_write();
    }
    if (ends) {
        auto self = shared_from_this();
        held_.clear();
        current_.reset();
        keepalive_.reset();
        if (!keep_alive_ || streaming_) {
            return shut();
        }
        if (watching_) {
            resume_read_ = true; // once the watch has been cancelled
            beast::error_code ec;
            stream_.socket().cancel(ec);
            return;
        }
        do_read();
    }
}

} // namespace radixrt::http
