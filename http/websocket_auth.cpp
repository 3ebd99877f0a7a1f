#include "http/websocket_auth.hpp"

#include <cctype>
#include <vector>

namespace radixrt::http {

namespace {

constexpr std::string_view key_prefix = "radixrt.key.";

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    while (!s.empty()) {
        const auto at = s.find(sep);
        out.push_back(s.substr(0, at));
        s = at == std::string_view::npos ? std::string_view() : s.substr(at + 1);
    }
    return out;
}

int hex(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = char(std::tolower((unsigned char)c));
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// application/x-www-form-urlencoded: %XX and '+' for a space.
std::string url_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out += char(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else {
            out += s[i] == '+' ? ' ' : s[i];
        }
    }
    return out;
}

} // namespace

websocket_credentials websocket_credentials_of(std::string_view authorization,
                                               std::string_view protocols,
                                               std::string_view target) {
    websocket_credentials c;
    c.authorization = std::string(authorization);
    bool offers_plain = false;
    std::string_view key_entry;
    for (auto p : split(protocols, ',')) {
        p = trim(p);
        if (p == "radixrt") {
            offers_plain = true;
        } else if (p.starts_with(key_prefix) && key_entry.empty()) {
            key_entry = p;
        }
    }
    if (!key_entry.empty()) {
        c.subprotocol = offers_plain ? std::string("radixrt") : std::string(key_entry);
        if (c.authorization.empty()) {
            c.authorization = "Bearer " + std::string(key_entry.substr(key_prefix.size()));
        }
    } else if (offers_plain) {
        c.subprotocol = "radixrt";
    }
    const auto q = target.find('?');
    if (c.authorization.empty() && q != std::string_view::npos) {
        for (auto kv : split(target.substr(q + 1), '&')) {
            if (kv.starts_with("api_key=")) {
                c.authorization = "Bearer " + url_decode(kv.substr(8));
                break;
            }
        }
    }
    return c;
}

} // namespace radixrt::http
