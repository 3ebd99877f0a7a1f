#pragma once
// A small blocking Beast client for the gateway tests: plain requests, SSE
// streams, raw bytes and WebSocket frames, all to 127.0.0.1.
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace radixrt::test {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct reply {
    unsigned status = 0;
    std::map<std::string, std::string> headers;
    std::string body;
};

inline reply request(unsigned port, const std::string& method, const std::string& target,
                     const std::string& body = {},
                     const std::map<std::string, std::string>& headers = {}) {
    net::io_context ioc;
    beast::tcp_stream s(ioc);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), net::ip::port_type(port)));
    beast::http::request<beast::http::string_body> req{beast::http::string_to_verb(method), target,
                                                       11};
    req.set(beast::http::field::host, "127.0.0.1");
    req.set(beast::http::field::content_type, "application/json");
    for (const auto& [k, v] : headers) {
        req.set(k, v);
    }
    req.body() = body;
    req.prepare_payload();
    beast::http::write(s, req);
    beast::flat_buffer buf;
    beast::http::response_parser<beast::http::string_body> p;
    p.body_limit(64u << 20);
    beast::error_code ec;
    beast::http::read(s, buf, p, ec);
    reply r;
    if (ec && ec != beast::http::error::end_of_stream) {
        return r; // status 0: no answer
    }
    auto res = p.release();
    r.status = res.result_int();
    for (const auto& f : res) {
        r.headers[std::string(f.name_string())] = std::string(f.value());
    }
    r.body = res.body();
    return r;
}

inline reply post(unsigned port, const std::string& target, const std::string& body,
                  const std::map<std::string, std::string>& headers = {}) {
    return request(port, "POST", target, body, headers);
}

/// The data lines of an SSE response (without "data: "), in order.
inline std::vector<std::string> sse_events(const std::string& body) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (true) {
        const auto start = body.find("data: ", pos);
        if (start == std::string::npos) {
            break;
        }
        const auto end = body.find("\n\n", start);
        out.push_back(body.substr(start + 6, end - start - 6));
        pos = end == std::string::npos ? body.size() : end + 2;
    }
    return out;
}

/// Sends raw bytes and returns whatever comes back until the server closes
/// the connection or `wait` passes; *closed_by_server tells which.
inline std::string raw(unsigned port, const std::string& bytes, std::chrono::milliseconds wait,
                       bool* closed_by_server = nullptr) {
    net::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), net::ip::port_type(port)));
    net::write(s, net::buffer(bytes));
    std::string out;
    char buf[4096];
    bool closed = false;
    std::function<void()> read = [&] {
        s.async_read_some(net::buffer(buf), [&](boost::system::error_code ec, std::size_t n) {
            out.append(buf, n);
            if (ec) {
                closed = ec == net::error::eof || ec == net::error::connection_reset;
                return;
            }
            read();
        });
    };
    read();
    ioc.run_for(wait);
    if (closed_by_server != nullptr) {
        *closed_by_server = closed;
    }
    return out;
}

struct ws_client {
    net::io_context ioc;
    beast::websocket::stream<tcp::socket> ws{ioc};
    explicit ws_client(unsigned port, const std::map<std::string, std::string>& headers = {}) {
        net::connect(ws.next_layer(), std::vector{tcp::endpoint(net::ip::make_address("127.0.0.1"),
                                                                net::ip::port_type(port))});
        ws.set_option(
            beast::websocket::stream_base::decorator([headers](beast::websocket::request_type& r) {
                for (const auto& [k, v] : headers) {
                    r.set(k, v);
                }
            }));
        ws.handshake("127.0.0.1", "/v1/ws");
    }
    void send(const std::string& text) { ws.write(net::buffer(text)); }
    std::string read() {
        beast::flat_buffer b;
        ws.read(b);
        return beast::buffers_to_string(b.data());
    }
};

} // namespace radixrt::test
