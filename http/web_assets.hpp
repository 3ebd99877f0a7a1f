#pragma once
// The playground page (web/), embedded at build time by cmake/embed_web.cmake.
#include <span>
#include <string_view>

namespace radixrt::http {

struct web_asset {
    std::string_view path;         ///< "/index.html", "/app.js", ...
    std::string_view content_type; ///< with charset for text
    std::string_view body;
    std::string_view etag; ///< quoted, e.g. "\"0123456789abcdef\""
};

/// Every embedded file; "/" is served as "/index.html".
std::span<const web_asset> web_assets();

/// The asset for a request path, or nullptr ("/" means "/index.html").
const web_asset* find_web_asset(std::string_view path);

/// Whether an If-None-Match header value names etag (or is "*").
bool etag_matches(std::string_view if_none_match, std::string_view etag);

} // namespace radixrt::http
