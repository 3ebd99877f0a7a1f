#include "http/json_util.hpp"

namespace radixrt::http {

std::size_t json_depth(std::string_view text, std::size_t limit) {
    std::size_t depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
            if (deepest > limit) {
                return limit + 1;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

json parse_body(const std::string& body, std::size_t max_depth) {
    if (json_depth(body, max_depth) > max_depth) {
        throw api_error(400, "invalid_request_error", "invalid_json",
                        "the request body nests deeper than " + std::to_string(max_depth) +
                            " levels");
    }
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded()) {
        throw api_error(400, "invalid_request_error", "invalid_json",
                        "the request body is not valid JSON");
    }
    if (!j.is_object()) {
        throw api_error(400, "invalid_request_error", "invalid_json",
                        "the request body must be a JSON object");
    }
    return j;
}

} // namespace radixrt::http
