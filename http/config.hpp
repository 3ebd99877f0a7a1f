#pragma once
// The server's configuration: defaults, a JSON file, command-line overrides,
// all checked in one place. Unknown keys, wrong types and out-of-range values
// are refused with the key's path in the message.
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "radixrt/engine.hpp"

namespace radixrt::http {

struct config_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct server_config {
    std::string host = "127.0.0.1";
    unsigned port = 8080;     // 0: an ephemeral port (logged at start)
    std::size_t threads = 2;  // Beast io threads
    std::string api_key;      // empty: no authentication (unless api_key_file)
    std::string api_key_file; // one key per line, with an optional tenant (http/auth.hpp)
    std::size_t max_connections = 1024;
    std::size_t max_body_bytes = 1u << 20;
    std::chrono::milliseconds header_timeout{10000}; // a whole request must arrive within this
    std::chrono::milliseconds idle_timeout{60000};   // keep-alive connections with no request
    std::chrono::milliseconds drain_timeout{10000};  // graceful shutdown
    std::chrono::milliseconds drain_grace{0};        // /health 503, still serving, then drain
    std::size_t max_stream_buffer_bytes = 4u << 20;  // a reader further behind is dropped
    std::size_t max_json_depth = 64;                 // deeper request bodies get 400
    bool webui = true;                               // the playground page at / (web/)
    std::size_t max_requests_per_connection = 256;   // engine requests queued or running (429)
    std::size_t max_requests_per_tenant = 0;         // same, per tenant (0: no cap)
    // Pages (origins) a browser may call the API from, besides the server's
    // own; entries "https://host[:port]", "http://host:*" (any port), "*".
    std::vector<std::string> cors_allowed_origins = {"http://localhost:*", "http://127.0.0.1:*",
                                                     "http://[::1]:*"};
    std::string model_name; // served as "model"; default: the file name without extension
    std::string chat_template =
        "auto"; // auto|chatml|llama2|llama3|mistral|zephyr|simple|FILE.jinja
    std::size_t max_tokens_limit = 4096; // largest max_tokens accepted
    std::size_t default_max_tokens = 128;
    engine_config engine;
};

/// The JSON text of a configuration (every key, current values).
std::string to_json(const server_config& c);

/// Applies a JSON document over c; throws config_error naming the key path.
void apply_json(server_config& c, const std::string& json_text, const std::string& source);

/// Adds an entry to server.cors.allowed_origins (--cors-origin); throws
/// config_error for an entry that is not an origin.
void add_cors_origin(server_config& c, const std::string& origin);

/// Applies `path=value` (value in JSON, or a bare string), e.g. "server.port=9000".
void apply_setting(server_config& c, const std::string& assignment);

} // namespace radixrt::http
