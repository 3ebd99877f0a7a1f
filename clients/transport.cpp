#include "clients/transport.hpp"

#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

namespace radixrt::clients {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;
using nlohmann::json;

target parse_base_url(const std::string& url) {
    const std::string scheme = "http://";
    if (url.rfind(scheme, 0) != 0) {
        throw std::runtime_error("base URL must start with http:// (got '" + url + "')");
    }
    std::string rest = url.substr(scheme.size());
    target t;
    const auto slash = rest.find('/');
    std::string hostport = rest.substr(0, slash);
    t.prefix = slash == std::string::npos ? "" : rest.substr(slash);
    while (!t.prefix.empty() && t.prefix.back() == '/') {
        t.prefix.pop_back();
    }
    // OpenAI clients take the base URL with /v1; the paths add it themselves.
    if (t.prefix.ends_with("/v1")) {
        t.prefix.resize(t.prefix.size() - 3);
    }
    while (!t.prefix.empty() && t.prefix.back() == '/') {
        t.prefix.pop_back();
    }
    const auto colon = hostport.rfind(':');
    t.host = hostport.substr(0, colon);
    if (colon != std::string::npos) {
        try {
            t.port = unsigned(std::stoul(hostport.substr(colon + 1)));
        } catch (...) {
            throw std::runtime_error("bad port in base URL '" + url + "'");
        }
    } else {
        t.port = 80;
    }
    if (t.host.empty() || t.port == 0 || t.port > 65535) {
        throw std::runtime_error("bad base URL '" + url + "'");
    }
    return t;
}

namespace {

// Every network step is asynchronous and bounded by the request's deadline:
// run the io_context until the step completes or the deadline passes, then
// cancel. A server that stalls can never hang the client.
template <typename Start>
boost::system::error_code step(net::io_context& ioc, tcp::socket& s,
                               clock_type::time_point deadline, Start start) {
    bool done = false;
    boost::system::error_code result;
    start([&](boost::system::error_code ec, auto&&...) {
        result = ec;
        done = true;
    });
    ioc.restart();
    ioc.run_until(deadline);
    if (!done) {
        boost::system::error_code ignored;
        s.cancel(ignored);
        ioc.restart();
        ioc.run(); // let the cancelled operation finish
        throw std::runtime_error("timed out");
    }
    return result;
}

void check(boost::system::error_code ec) {
    if (ec) {
        throw beast::system_error(ec);
    }
}

// "HTTP 401: missing or invalid API key": the error message of an OpenAI-style
// body, else the start of the body.
std::string http_failure(unsigned status, const std::string& body) {
    const auto j = json::parse(body, nullptr, false);
    std::string msg = !j.is_discarded() && j.contains("error") && j["error"].is_object()
                          ? j["error"].value("message", "")
                          : body.substr(0, 120);
    return "HTTP " + std::to_string(status) + ": " + msg;
}

void connect(net::io_context& ioc, tcp::socket& s, const target& t,
             clock_type::time_point deadline) {
    tcp::resolver resolver(ioc);
    const auto endpoints = resolver.resolve(t.host, std::to_string(t.port));
    const auto ec = step(ioc, s, deadline, [&](auto h) { net::async_connect(s, endpoints, h); });
    if (ec) {
        throw std::runtime_error("cannot connect to " + t.host + ":" + std::to_string(t.port) +
                                 ": " + ec.message());
    }
}

json prompt_json(const bench_request& r) {
    return r.text.empty() ? json(r.prompt_ids) : json(r.text);
}

json body_for(const target& t, const bench_request& r) {
    if (t.endpoint == "generate") {
        json j = {{"sampling_params",
                   {{"max_new_tokens", r.max_tokens},
                    {"temperature", t.temperature},
                    {"ignore_eos", t.ignore_eos}}},
                  {"stream", true}};
        j[r.text.empty() ? "input_ids" : "text"] = prompt_json(r);
        return j;
    }
    json j = {{"max_tokens", r.max_tokens},
              {"temperature", t.temperature},
              {"ignore_eos", t.ignore_eos},
              {"stream", true},
              {"stream_options", {{"include_usage", true}}}};
    if (!t.model.empty()) {
        j["model"] = t.model;
    }
    if (t.endpoint == "chat") {
        if (r.text.empty()) {
            throw std::runtime_error("chat needs text prompts (use --prompt-format text)");
        }
        j["messages"] = json::array({{{"role", "user"}, {"content", r.text}}});
    } else {
        j["prompt"] = prompt_json(r);
    }
    return j;
}

struct event_sink {
    request_result& res;
    clock_type::time_point start;
    clock_type::time_point last{};
    std::size_t events = 0;
    std::string generate_text; // SGLang streams the text so far

    // One token's event (its text may be empty: held back by the server).
    void content(const std::string& piece) {
        const auto now = clock_type::now();
        if (events == 0) {
            res.ttft = std::chrono::duration<double>(now - start).count();
        } else {
            res.itl.push_back(std::chrono::duration<double>(now - last).count());
        }
        last = now;
        ++events;
        res.text += piece;
    }
    void usage(const json& u) {
        if (!u.is_object()) {
            return;
        }
        res.usage_seen = true;
        res.prompt_tokens = u.value("prompt_tokens", 0);
        res.output_tokens = u.value("completion_tokens", res.output_tokens);
        if (u.contains("prompt_tokens_details") && u["prompt_tokens_details"].is_object()) {
            res.cached_tokens = u["prompt_tokens_details"].value("cached_tokens", 0);
        }
    }
    // One SSE data payload; false when the stream is over.
    bool data(const std::string& d, const std::string& endpoint) {
        if (d == "[DONE]") {
            return false;
        }
        const auto j = json::parse(d, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            throw std::runtime_error("malformed SSE event: " + d.substr(0, 80));
        }
        if (j.contains("error")) {
            throw std::runtime_error("server error event: " +
                                     j["error"].value("message", j["error"].dump()));
        }
        if (endpoint == "generate") {
            const std::string text = j.value("text", "");
            if (!j.contains("meta_info") ||
                !j["meta_info"].contains("prompt_tokens")) { // not the final event
                content(text.size() > generate_text.size() ? text.substr(generate_text.size())
                                                           : std::string());
            }
            generate_text = text;
            if (j.contains("meta_info") && j["meta_info"].contains("prompt_tokens")) {
                const auto& m = j["meta_info"];
                res.usage_seen = true;
                res.prompt_tokens = m.value("prompt_tokens", 0);
                res.cached_tokens = m.value("cached_tokens", 0);
                res.output_tokens = m.value("completion_tokens", 0);
            }
            return true;
        }
        if (j.contains("usage") && !j["usage"].is_null()) {
            usage(j["usage"]);
        }
        if (j.contains("choices") && j["choices"].is_array() && !j["choices"].empty()) {
            const auto& c = j["choices"][0];
            if (endpoint == "chat") {
                if (c.contains("delta") && c["delta"].is_object() &&
                    c["delta"].contains("content") && c["delta"]["content"].is_string()) {
                    content(c["delta"]["content"].get<std::string>());
                }
            } else if (c.contains("text") && c["text"].is_string()) {
                const auto text = c["text"].get<std::string>();
                const bool finish_only =
                    text.empty() && c.contains("finish_reason") && !c["finish_reason"].is_null();
                if (!finish_only) {
                    content(text);
                }
            }
        }
        return true;
    }
};

void run_http(const target& t, const bench_request& r, clock_type::time_point deadline,
              request_result& res) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    connect(ioc, stream.socket(), t, deadline);
    const std::string path = t.prefix + (t.endpoint == "generate" ? "/generate"
                                         : t.endpoint == "chat"   ? "/v1/chat/completions"
                                                                  : "/v1/completions");
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, path, 11};
    req.set(bhttp::field::host, t.host);
    req.set(bhttp::field::content_type, "application/json");
    req.set(bhttp::field::accept, "text/event-stream");
    if (!t.api_key.empty()) {
        req.set(bhttp::field::authorization, "Bearer " + t.api_key);
    }
    req.body() = body_for(t, r).dump();
    req.prepare_payload();
    const auto start = clock_type::now();
    auto& sock = stream.socket();
    check(step(ioc, sock, deadline, [&](auto h) { bhttp::async_write(stream, req, h); }));
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::buffer_body> p;
    p.body_limit(boost::none);
    check(step(ioc, sock, deadline, [&](auto h) { bhttp::async_read_header(stream, buf, p, h); }));
    const unsigned status = p.get().result_int();
    event_sink sink{res, start, {}, 0, {}};
    std::string pending, body;
    bool done = false;
    while (!p.is_done() && !done) {
        char chunk[8192];
        p.get().body().data = chunk;
        p.get().body().size = sizeof chunk;
        // read_some returns as data arrives: timings stay per event
        auto ec =
            step(ioc, sock, deadline, [&](auto h) { bhttp::async_read_some(stream, buf, p, h); });
        if (ec == bhttp::error::need_buffer) {
            ec = {};
        }
        if (ec && ec != bhttp::error::end_of_stream) {
            throw beast::system_error(ec);
        }
        const std::string got(chunk, sizeof chunk - p.get().body().size);
        if (status != 200) {
            body += got;
            continue;
        }
        pending += got;
        for (std::size_t end; (end = pending.find("\n\n")) != std::string::npos;) {
            const std::string ev = pending.substr(0, end);
            pending.erase(0, end + 2);
            for (std::size_t pos = 0; pos < ev.size();) {
                const auto nl = std::min(ev.find('\n', pos), ev.size());
                const std::string line = ev.substr(pos, nl - pos);
                if (line.rfind("data:", 0) == 0) {
                    const std::string d = line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
                    if (!sink.data(d, t.endpoint)) {
                        done = true;
                    }
                }
                pos = nl + 1;
            }
        }
        if (ec == bhttp::error::end_of_stream) {
            break;
        }
    }
    if (status != 200) {
        throw std::runtime_error(http_failure(status, body));
    }
    if (!done) {
        throw std::runtime_error("the stream ended without [DONE]");
    }
    if (!res.usage_seen) {
        res.output_tokens = sink.events;
    }
    res.e2e = std::chrono::duration<double>(clock_type::now() - start).count();
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

void run_ws(const target& t, const bench_request& r, clock_type::time_point deadline,
            request_result& res) {
    net::io_context ioc;
    beast::websocket::stream<beast::tcp_stream> ws(ioc);
    auto& sock = beast::get_lowest_layer(ws).socket();
    connect(ioc, sock, t, deadline);
    if (!t.api_key.empty()) {
        ws.set_option(beast::websocket::stream_base::decorator(
            [key = t.api_key](beast::websocket::request_type& q) {
                q.set(bhttp::field::authorization, "Bearer " + key);
            }));
    }
    beast::websocket::response_type upgrade;
    const auto hs = step(ioc, sock, deadline, [&](auto h) {
        ws.async_handshake(upgrade, t.host, t.prefix + "/v1/ws", h);
    });
    if (hs && upgrade.result_int() != 0 && upgrade.result_int() != 101) {
        throw std::runtime_error("WebSocket upgrade refused: " +
                                 http_failure(upgrade.result_int(), upgrade.body()));
    }
    check(hs);
    json msg = {{"type", "generate"},
                {"id", 1},
                {"params",
                 {{"max_tokens", r.max_tokens},
                  {"temperature", t.temperature},
                  {"ignore_eos", t.ignore_eos}}}};
    msg[r.text.empty() ? "input_ids" : "prompt"] = prompt_json(r);
    const auto start = clock_type::now();
    const std::string text = msg.dump();
    check(step(ioc, sock, deadline, [&](auto h) { ws.async_write(net::buffer(text), h); }));
    event_sink sink{res, start, {}, 0, {}};
    for (;;) {
        beast::flat_buffer b;
        check(step(ioc, sock, deadline, [&](auto h) { ws.async_read(b, h); }));
        const auto j = json::parse(beast::buffers_to_string(b.data()), nullptr, false);
        if (j.is_discarded()) {
            throw std::runtime_error("malformed WebSocket frame");
        }
        const std::string type = j.value("type", "");
        if (type == "token") {
            sink.content(j.value("text", ""));
        } else if (type == "done") {
            sink.usage(j["usage"]);
            res.cached_tokens = j["usage"].value("cached_tokens", 0);
            break;
        } else {
            throw std::runtime_error("server error: " + (j.contains("error")
                                                             ? j["error"].value("message", "")
                                                             : j.dump()));
        }
    }
    res.e2e = std::chrono::duration<double>(clock_type::now() - start).count();
    try {
        step(ioc, sock, std::min(deadline, clock_type::now() + std::chrono::seconds(1)),
             [&](auto h) { ws.async_close(beast::websocket::close_code::normal, h); });
    } catch (const std::exception&) {
        // the answer is complete; a slow close does not matter
    }
}

} // namespace

request_result execute(const target& t, const bench_request& r, clock_type::time_point deadline) {
    request_result res;
    try {
        if (t.endpoint == "ws") {
            run_ws(t, r, deadline, res);
        } else {
            run_http(t, r, deadline, res);
        }
        res.ok = true;
    } catch (const std::exception& e) {
        res.ok = false;
        res.error = clock_type::now() >= deadline ? std::string("timed out (deadline)")
                                                  : std::string(e.what());
    }
    return res;
}

std::pair<unsigned, std::string> simple_request(const target& t, const std::string& method,
                                                const std::string& path, const std::string& body,
                                                std::chrono::milliseconds timeout) {
    try {
        net::io_context ioc;
        beast::tcp_stream stream(ioc);
        const auto deadline = clock_type::now() + timeout;
        auto& sock = stream.socket();
        connect(ioc, sock, t, deadline);
        bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), t.prefix + path, 11};
        req.set(bhttp::field::host, t.host);
        req.set(bhttp::field::content_type, "application/json");
        if (!t.api_key.empty()) {
            req.set(bhttp::field::authorization, "Bearer " + t.api_key);
        }
        req.body() = body;
        req.prepare_payload();
        check(step(ioc, sock, deadline, [&](auto h) { bhttp::async_write(stream, req, h); }));
        beast::flat_buffer buf;
        bhttp::response<bhttp::string_body> res;
        check(step(ioc, sock, deadline, [&](auto h) { bhttp::async_read(stream, buf, res, h); }));
        return {res.result_int(), res.body()};
    } catch (const std::exception&) {
        return {0, {}};
    }
}

} // namespace radixrt::clients
