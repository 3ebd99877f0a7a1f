#include "http/websocket_session.hpp"

namespace radixrt::http {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;

websocket_session::websocket_session(net::ip::tcp::socket socket, std::shared_ptr<gateway> gw,
                                     principal who)
    : ws_(std::move(socket)), gw_(std::move(gw)), who_(std::move(who)) {}

websocket_session::~websocket_session() {
    if (registry_) {
        registry_->remove(this);
    }
}

void websocket_session::close() {
    net::post(ws_.get_executor(), [self = shared_from_this()] { self->fail(); });
}

void websocket_session::run(beast::http::request<beast::http::string_body> req,
                            std::shared_ptr<session_registry> registry, std::string subprotocol) {
    registry_ = std::move(registry);
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.idle_timeout = gw_->config().idle_timeout;
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.read_message_max(gw_->config().max_body_bytes);
    // A browser fails the handshake unless one of its offered subprotocols
    // comes back (http/websocket_auth.hpp).
    ws_.set_option(websocket::stream_base::decorator(
        [subprotocol = std::move(subprotocol)](websocket::response_type& res) {
            res.set(beast::http::field::server, "radixrt");
            if (!subprotocol.empty()) {
                res.set(beast::http::field::sec_websocket_protocol, subprotocol);
            }
        }));
    conn_ = std::make_shared<ws_connection>(gw_, weak_from_this(), who_);
    ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
        if (ec) {
            return self->fail();
        }
        self->open_ = true;
        self->do_read();
    });
}

void websocket_session::do_read() {
    ws_.async_read(buffer_,
                   beast::bind_front_handler(&websocket_session::on_read, shared_from_this()));
}

void websocket_session::on_read(beast::error_code ec, std::size_t) {
    if (ec) {
        return fail(); // closed, timed out, or an oversized message
    }
    if (!ws_.got_text()) {
        buffer_.consume(buffer_.size());
        conn_->on_binary();
        return do_read();
    }
    std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    conn_->on_message(text);
    do_read();
}

bool websocket_session::send(std::string text) {
    if (!open_) {
        return false;
    }
    if (queued_bytes_.load() > gw_->config().max_stream_buffer_bytes) {
        net::post(ws_.get_executor(),
                  [self = shared_from_this()] { self->fail(); }); // too far behind
        return false;
    }
    queued_bytes_ += text.size();
    net::post(ws_.get_executor(), [self = shared_from_this(), text = std::move(text)]() mutable {
        if (!self->open_) {
            return;
        }
        self->queue_.push_back(std::move(text));
        if (!self->writing_) {
            self->do_write();
        }
    });
    return true;
}

void websocket_session::do_write() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()),
                    beast::bind_front_handler(&websocket_session::on_write, shared_from_this()));
}

void websocket_session::on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) {
        return fail();
    }
    queued_bytes_ -= queue_.front().size();
    queue_.pop_front();
    if (!queue_.empty()) {
        do_write();
    }
}

void websocket_session::fail() {
    if (!open_.exchange(false) && !conn_) {
        return;
    }
    if (conn_) {
        conn_->close(); // cancels this socket's requests
    }
    queue_.clear();
    beast::get_lowest_layer(ws_).close();
}

} // namespace radixrt::http
