#pragma once
// Which web pages may call the API from a browser (CORS), and the headers
// that tell the browser so. The policy is server.cors.allowed_origins plus
// the server's own origin (the request's Host); entries are exact origins
// ("https://app.example.com"), an origin with any port
// ("http://localhost:*"), or "*" for any page.
#include <string>
#include <string_view>
#include <vector>

#include "http/responder.hpp"

namespace radixrt::http {

class cors_policy {
  public:
    explicit cors_policy(std::vector<std::string> allowed_origins);

    /// Whether a page at origin may call the API; host is the request's
    /// Host header (a page served by this server is always allowed).
    bool allows(std::string_view origin, std::string_view host) const;

    /// On every response to an allowed origin (Vary: the answer depends on it).
    static header_list response_headers(std::string_view origin);
    /// The answer to an allowed origin's preflight (OPTIONS) request. The
    /// headers the page asks to send (Access-Control-Request-Headers) are
    /// allowed as well, so SDKs with headers of their own (the OpenAI
    /// SDK's x-stainless-*) work from an allowed page.
    static header_list preflight_headers(std::string_view origin,
                                         std::string_view requested_headers = {});

  private:
    std::vector<std::string> allowed_; // lower case
};

/// Whether entry is a valid allowed-origin entry; why it is not, else "".
std::string check_origin_entry(std::string_view entry);

} // namespace radixrt::http
