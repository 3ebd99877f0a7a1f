// CORS and browser access: which origins may call the API (preflight and
// actual requests, including an SSE stream and an error), the WebSocket
// Origin check, and an API key passed by a browser's WebSocket.
#include "http/cors.hpp"

#include <boost/beast/websocket.hpp>

#include "http/websocket_auth.hpp"
#include "tests/http/live_server.hpp"

namespace rh = radixrt::http;
namespace rt = radixrt::test;
namespace beast = boost::beast;

namespace {

const std::vector<std::string> defaults = rh::server_config{}.cors_allowed_origins;

TEST(cors_policy, allowed_and_refused_origins) {
    struct row {
        std::vector<std::string> list;
        std::string origin, host;
        bool allowed;
    };
    const std::vector<row> rows = {
        {defaults, "http://localhost:3000", "127.0.0.1:8080", true},
        {defaults, "http://localhost", "127.0.0.1:8080", true},
        {defaults, "http://127.0.0.1:5173", "127.0.0.1:8080", true},
        {defaults, "http://[::1]:8000", "127.0.0.1:8080", true},
        {defaults, "HTTP://LOCALHOST:3000", "127.0.0.1:8080", true},
        {defaults, "https://localhost:3000", "127.0.0.1:8080", false}, // the scheme counts
        {defaults, "http://localhost.evil.com", "127.0.0.1:8080", false},
        {defaults, "http://localhost:3000.evil.com", "127.0.0.1:8080", false},
        {defaults, "http://localhost:", "127.0.0.1:8080", false},
        {defaults, "https://evil.com", "127.0.0.1:8080", false},
        {defaults, "null", "127.0.0.1:8080", false},
        {defaults, "", "127.0.0.1:8080", false},
        {{}, "http://gpu-box:8080", "gpu-box:8080", true}, // the server's own pages
        {{}, "http://gpu-box:9090", "gpu-box:8080", false},
        {{}, "http://localhost:3000", "gpu-box:8080", false},
        {{"https://app.example.com"}, "https://app.example.com", "h:1", true},
        {{"https://app.example.com"}, "https://app.example.com:444", "h:1", false},
        {{"https://app.example.com"}, "http://app.example.com", "h:1", false},
        {{"*"}, "https://anything.example", "h:1", true},
        {{"*"}, "null", "h:1", true},
        {{"null"}, "null", "h:1", true},
    };
    for (const auto& r : rows) {
        EXPECT_EQ(rh::cors_policy(r.list).allows(r.origin, r.host), r.allowed)
            << r.origin << " with host " << r.host;
    }
}

TEST(cors_policy, origin_entries_are_checked) {
    for (const std::string ok : {"*", "null", "http://localhost:*", "https://a.example:8443"}) {
        EXPECT_EQ(rh::check_origin_entry(ok), "") << ok;
    }
    for (const std::string bad : {"localhost:3000", "ftp://x", "https://a.example/", "http://"}) {
        EXPECT_NE(rh::check_origin_entry(bad), "") << bad;
    }
}

TEST(websocket_credentials, from_header_subprotocol_or_query) {
    struct row {
        std::string authorization, protocols, target;
        std::string want_auth, want_protocol;
    };
    const std::vector<row> rows = {
        {"Bearer h", "radixrt.key.p", "/v1/ws?api_key=q", "Bearer h", "radixrt.key.p"},
        {"", "radixrt.key.p", "/v1/ws?api_key=q", "Bearer p", "radixrt.key.p"},
        {"", "radixrt, radixrt.key.p", "/v1/ws", "Bearer p", "radixrt"},
        {"", " radixrt.key.p ,radixrt", "/v1/ws", "Bearer p", "radixrt"},
        {"", "radixrt", "/v1/ws", "", "radixrt"},
        {"", "chat", "/v1/ws", "", ""},
        {"", "", "/v1/ws?x=1&api_key=sk%2Dq+1", "Bearer sk-q 1", ""},
        {"", "", "/v1/ws?my_api_key=q", "", ""},
        {"", "", "/v1/ws", "", ""},
    };
    for (const auto& r : rows) {
        const auto c = rh::websocket_credentials_of(r.authorization, r.protocols, r.target);
        EXPECT_EQ(c.authorization, r.want_auth) << r.protocols << " " << r.target;
        EXPECT_EQ(c.subprotocol, r.want_protocol) << r.protocols << " " << r.target;
    }
}

rh::server_config keyed() {
    auto c = rt::live_server::base_config();
    c.api_key = "s3cret";
    return c;
}

bool has(const rt::reply& r, const std::string& h) {
    return r.headers.count(h) > 0;
}

TEST(cors_server, preflight_answers_allowed_origins_only) {
    rt::live_server s(keyed()); // OPTIONS needs no key
    const std::map<std::string, std::string> ask = {
        {"Access-Control-Request-Method", "POST"},
        {"Access-Control-Request-Headers", "authorization, content-type"}};
    for (const std::string path : {"/v1/chat/completions", "/v1/completions", "/v1/models",
                                   "/generate", "/tokenize", "/health"}) {
        for (const std::string origin : {"http://localhost:3000", "http://127.0.0.1:5173"}) {
            auto h = ask;
            h["Origin"] = origin;
            const auto r = rt::request(s.port(), "OPTIONS", path, "", h);
            EXPECT_EQ(r.status, 204u) << path << " " << origin << " " << r.body;
            ASSERT_TRUE(has(r, "Access-Control-Allow-Origin")) << path;
            EXPECT_EQ(r.headers.at("Access-Control-Allow-Origin"), origin);
            EXPECT_EQ(r.headers.at("Vary"), "Origin");
            EXPECT_NE(r.headers.at("Access-Control-Allow-Methods").find("POST"), std::string::npos);
            const auto& allow = r.headers.at("Access-Control-Allow-Headers");
            EXPECT_NE(allow.find("authorization"), std::string::npos);
            EXPECT_NE(allow.find("content-type"), std::string::npos);
            EXPECT_TRUE(has(r, "Access-Control-Max-Age"));
            EXPECT_FALSE(has(r, "Content-Length")); // none on a 204
        }
        auto h = ask;
        h["Origin"] = "https://evil.example";
        const auto r = rt::request(s.port(), "OPTIONS", path, "", h);
        EXPECT_EQ(r.status, 403u) << path;
        for (const auto& [k, v] : r.headers) {
            EXPECT_EQ(k.rfind("Access-Control-", 0), std::string::npos) << k << ": " << v;
        }
    }
    // Not a browser: no Origin, no CORS headers, still no key needed.
    const auto plain = rt::request(s.port(), "OPTIONS", "/v1/models");
    EXPECT_EQ(plain.status, 204u);
    EXPECT_FALSE(has(plain, "Access-Control-Allow-Origin"));
    EXPECT_EQ(plain.headers.at("Allow"), "GET, POST, OPTIONS");
}

TEST(cors_server, preflight_allows_the_headers_an_sdk_asks_for) {
    rt::live_server s(keyed());
    // The OpenAI JS SDK sends headers of its own; a preflight naming them
    // from an allowed page allows them, and nothing but header names is
    // echoed.
    const std::map<std::string, std::string> ask = {
        {"Origin", "http://localhost:3000"},
        {"Access-Control-Request-Method", "POST"},
        {"Access-Control-Request-Headers", "authorization,content-type,x-stainless-os,x-stainless-lang"}};
    const auto r = rt::request(s.port(), "OPTIONS", "/v1/chat/completions", "", ask);
    ASSERT_EQ(r.status, 204u);
    const auto& allow = r.headers.at("Access-Control-Allow-Headers");
    EXPECT_NE(allow.find("x-stainless-os"), std::string::npos) << allow;
    EXPECT_NE(allow.find("x-stainless-lang"), std::string::npos) << allow;
    auto odd = ask;
    odd["Access-Control-Request-Headers"] = "x-a; drop=1";
    const auto r2 = rt::request(s.port(), "OPTIONS", "/v1/chat/completions", "", odd);
    ASSERT_EQ(r2.status, 204u);
    EXPECT_EQ(r2.headers.at("Access-Control-Allow-Headers").find("drop"), std::string::npos);
}

TEST(cors_server, actual_responses_carry_the_origin_when_allowed) {
    rt::live_server s(keyed());
    const std::string ok_origin = "http://localhost:8000", bad_origin = "https://evil.example";
    struct row {
        std::string method, path, body, origin;
        bool key;
        unsigned status;
        bool allow_header;
    };
    const std::string gen = rt::completion("hi", 2, false);
    const std::vector<row> rows = {
        {"GET", "/v1/models", "", ok_origin, true, 200, true},
        {"POST", "/v1/completions", gen, ok_origin, true, 200, true},
        {"GET", "/health", "", ok_origin, false, 200, true},
        {"GET", "/v1/models", "", ok_origin, false, 401, true},         // an error
        {"GET", "/v1/nothing", "", ok_origin, true, 404, true},         // an error
        {"POST", "/v1/completions", "{", ok_origin, true, 400, true},   // an error
        {"GET", "/v1/models", "", bad_origin, true, 403, false},        // refused page
        {"POST", "/v1/completions", gen, bad_origin, true, 403, false}, // nothing runs
        {"GET", "/v1/models", "", "", true, 200, false},                // not a browser
    };
    for (const auto& r : rows) {
        std::map<std::string, std::string> h;
        if (!r.origin.empty()) {
            h["Origin"] = r.origin;
        }
        if (r.key) {
            h["Authorization"] = "Bearer s3cret";
        }
        const auto got = rt::request(s.port(), r.method, r.path, r.body, h);
        EXPECT_EQ(got.status, r.status) << r.method << " " << r.path << " " << r.origin;
        EXPECT_EQ(has(got, "Access-Control-Allow-Origin"), r.allow_header)
            << r.method << " " << r.path << " " << r.origin;
        if (r.allow_header) {
            EXPECT_EQ(got.headers.at("Access-Control-Allow-Origin"), r.origin);
            EXPECT_EQ(got.headers.at("Vary"), "Origin");
        }
    }
}

TEST(cors_server, an_sse_stream_carries_the_origin) {
    rt::live_server s;
    const auto r = rt::post(s.port(), "/v1/completions", rt::completion("hi", 3, true),
                            {{"Origin", "http://127.0.0.1:3000"}});
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.headers.at("Content-Type"), "text/event-stream");
    EXPECT_EQ(r.headers.at("Access-Control-Allow-Origin"), "http://127.0.0.1:3000");
    EXPECT_EQ(rt::sse_events(r.body).back(), "[DONE]");
}

TEST(cors_server, configured_origins_replace_the_defaults_and_star_allows_all) {
    auto c = rt::live_server::base_config();
    c.cors_allowed_origins = {"https://app.example.com"};
    rt::live_server s(c);
    EXPECT_EQ(
        rt::request(s.port(), "GET", "/v1/models", "", {{"Origin", "https://app.example.com"}})
            .headers.at("Access-Control-Allow-Origin"),
        "https://app.example.com");
    EXPECT_EQ(rt::request(s.port(), "GET", "/v1/models", "", {{"Origin", "http://localhost:3000"}})
                  .status,
              403u);
    auto star = rt::live_server::base_config();
    star.cors_allowed_origins = {"*"};
    rt::live_server any(star);
    EXPECT_EQ(rt::request(any.port(), "GET", "/v1/models", "", {{"Origin", "https://x.example"}})
                  .headers.at("Access-Control-Allow-Origin"),
              "https://x.example");
}

// A WebSocket handshake; the answer's status (101 on success) and subprotocol.
struct upgrade_result {
    unsigned status = 0;
    std::string protocol;
};

upgrade_result upgrade(unsigned port, const std::string& target,
                       const std::map<std::string, std::string>& headers) {
    rt::net::io_context ioc;
    beast::websocket::stream<rt::tcp::socket> ws{ioc};
    ws.next_layer().connect(
        rt::tcp::endpoint(rt::net::ip::make_address("127.0.0.1"), rt::net::ip::port_type(port)));
    ws.set_option(
        beast::websocket::stream_base::decorator([headers](beast::websocket::request_type& r) {
            for (const auto& [k, v] : headers) {
                r.set(k, v);
            }
        }));
    beast::websocket::response_type res;
    beast::error_code ec;
    ws.handshake(res, "127.0.0.1", target, ec);
    upgrade_result out{res.result_int(),
                       std::string(res[beast::http::field::sec_websocket_protocol])};
    if (!ec) {
        // the socket works: one request answered
        ws.write(rt::net::buffer(std::string(R"({"type":"generate","id":1,"prompt":"hi",)"
                                             R"("params":{"max_tokens":1}})")));
        beast::flat_buffer b;
        ws.read(b);
        EXPECT_NE(beast::buffers_to_string(b.data()).find("\"id\":1"), std::string::npos);
    }
    return out;
}

TEST(cors_websocket, origin_is_checked_against_the_same_list) {
    rt::live_server s;
    EXPECT_EQ(upgrade(s.port(), "/v1/ws", {{"Origin", "http://localhost:3000"}}).status, 101u);
    EXPECT_EQ(upgrade(s.port(), "/v1/ws", {{"Origin", "https://evil.example"}}).status, 403u);
    EXPECT_EQ(upgrade(s.port(), "/v1/ws", {}).status, 101u); // not a browser
}

TEST(cors_websocket, a_browser_passes_the_key_as_subprotocol_or_query) {
    rt::live_server s(keyed());
    const std::string page = "http://localhost:3000";
    struct row {
        std::string target;
        std::map<std::string, std::string> headers;
        unsigned status;
        std::string protocol;
    };
    const std::vector<row> rows = {
        {"/v1/ws",
         {{"Origin", page}, {"Sec-WebSocket-Protocol", "radixrt.key.s3cret"}},
         101,
         "radixrt.key.s3cret"},
        {"/v1/ws",
         {{"Origin", page}, {"Sec-WebSocket-Protocol", "radixrt, radixrt.key.s3cret"}},
         101,
         "radixrt"},
        {"/v1/ws", {{"Origin", page}, {"Sec-WebSocket-Protocol", "radixrt.key.wrong"}}, 401, ""},
        {"/v1/ws?api_key=s3cret", {{"Origin", page}}, 101, ""},
        {"/v1/ws?api_key=wrong", {{"Origin", page}}, 401, ""},
        {"/v1/ws", {{"Origin", page}}, 401, ""},
        {"/v1/ws", {{"Authorization", "Bearer s3cret"}}, 101, ""},
        {"/v1/ws?api_key=s3cret", {{"Origin", "https://evil.example"}}, 403, ""},
    };
    for (const auto& r : rows) {
        const auto got = upgrade(s.port(), r.target, r.headers);
        EXPECT_EQ(got.status, r.status) << r.target;
        EXPECT_EQ(got.protocol, r.protocol) << r.target;
    }
}

} // namespace
