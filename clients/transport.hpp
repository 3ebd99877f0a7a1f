#pragma once
// One generation request against an OpenAI-compatible server (completions
// or chat with SSE), SGLang's /generate, or radixrt's WebSocket, with the
// timings a client sees. Works whether the server keeps connections alive
// or closes them (a connection per request), and with chunked or
// close-delimited event streams.
#include <chrono>
#include <string>
#include <vector>

#include "clients/workload.hpp"

namespace radixrt::clients {

using clock_type = std::chrono::steady_clock;

struct target {
    std::string host = "127.0.0.1";
    unsigned port = 8080;
    std::string prefix;                   // path prefix of the base URL ("" or "/something")
    std::string endpoint = "completions"; // completions | chat | generate | ws
    std::string api_key;
    std::string model; // sent as "model" when set
    bool ignore_eos = true;
    double temperature = 0.0;
};

/// Parses http://host:port[/prefix]; throws std::runtime_error otherwise.
target parse_base_url(const std::string& url);

struct request_result {
    bool ok = false;
    std::string error;
    double ttft = 0, e2e = 0; // seconds
    std::vector<double> itl;  // between consecutive content events
    std::size_t output_tokens = 0, prompt_tokens = 0, cached_tokens = 0;
    bool usage_seen = false; // the server reported usage (prompt/cached tokens)
    std::string text;
};

/// Runs one request; never waits past `deadline`.
request_result execute(const target& t, const bench_request& r, clock_type::time_point deadline);

/// A plain GET/POST for the side channels (/metrics, /detokenize); empty
/// body and status 0 on failure.
std::pair<unsigned, std::string> simple_request(const target& t, const std::string& method,
                                                const std::string& path, const std::string& body,
                                                std::chrono::milliseconds timeout);

} // namespace radixrt::clients
