#include "http/cors.hpp"

#include <algorithm>
#include <cctype>

namespace radixrt::http {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return out;
}

bool all_digits(std::string_view s) {
    return !s.empty() && s.size() <= 5 &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// "http://localhost:*" matches http://localhost and http://localhost:PORT.
bool matches(std::string_view pattern, std::string_view origin) {
    if (pattern == "*") {
        return true;
    }
    if (pattern.ends_with(":*")) {
        const auto base = pattern.substr(0, pattern.size() - 2);
        if (origin == base) {
            return true;
        }
        return origin.size() > base.size() + 1 && origin.starts_with(base) &&
               origin[base.size()] == ':' && all_digits(origin.substr(base.size() + 1));
    }
    return pattern == origin;
}

} // namespace

cors_policy::cors_policy(std::vector<std::string> allowed_origins) {
    for (const auto& o : allowed_origins) {
        allowed_.push_back(lower(o));
    }
}

bool cors_policy::allows(std::string_view origin_in, std::string_view host) const {
    const auto origin = lower(origin_in);
    if (!host.empty() &&
        (origin == "http://" + lower(host) || origin == "https://" + lower(host))) {
        return true; // the server's own pages
    }
    return std::any_of(allowed_.begin(), allowed_.end(),
                       [&origin](const std::string& p) { return matches(p, origin); });
}

header_list cors_policy::response_headers(std::string_view origin) {
    // The origin is echoed rather than "*", so that one answer never serves
    // another page from a shared cache: hence Vary.
    return {{"Access-Control-Allow-Origin", std::string(origin)}, {"Vary", "Origin"}};
}

header_list cors_policy::preflight_headers(std::string_view origin,
                                           std::string_view requested_headers) {
    auto h = response_headers(origin);
    h.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    std::string allow = "authorization, content-type, accept";
    // Echo the requested names, if they are names: letters, digits, '-',
    // '_' and '.', separated by commas and spaces (nothing else gets into a
    // header value).
    const bool names_only =
        std::all_of(requested_headers.begin(), requested_headers.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                   c == '.' || c == ',' || c == ' ';
        });
    if (names_only && !requested_headers.empty() && requested_headers.size() <= 2048) {
        allow += ", " + std::string(requested_headers);
    }
    h.emplace_back("Access-Control-Allow-Headers", allow);
    h.emplace_back("Access-Control-Max-Age", "600");
    return h;
}

std::string check_origin_entry(std::string_view e) {
    if (e == "*" || e == "null") {
        return {};
    }
    const auto scheme = e.find("://");
    if (scheme == std::string_view::npos ||
        (e.substr(0, scheme) != "http" && e.substr(0, scheme) != "https")) {
        return "an origin starts with http:// or https://";
    }
    const auto rest = e.substr(scheme + 3);
    if (rest.empty() || rest.find('/') != std::string_view::npos) {
        return "an origin is scheme://host[:port], with no path or trailing slash";
    }
    return {};
}

} // namespace radixrt::http
