#pragma once
// JSON helpers of the gateway: parsing request bodies, typed field access
// that reports the field by name, and serialisation that never throws on
// invalid UTF-8.
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "http/api_error.hpp"

namespace radixrt::http {

using nlohmann::json;

inline std::string dump(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

inline json parse_body(const std::string& body) {
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

/// j[key] as a number in [lo, hi], if present and not null.
inline std::optional<double> get_number(const json& j, const char* key, double lo, double hi) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        return std::nullopt;
    }
    if (!it->is_number()) {
        throw invalid(key, "expected a number");
    }
    const double v = it->get<double>();
    if (!(v >= lo && v <= hi)) {
        throw invalid(key, "must be between " + json(lo).dump() + " and " + json(hi).dump());
    }
    return v;
}

inline std::optional<std::int64_t> get_int(const json& j, const char* key, std::int64_t lo,
                                           std::int64_t hi) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        return std::nullopt;
    }
    if (!it->is_number_integer()) {
        throw invalid(key, "expected an integer");
    }
    const auto v = it->get<std::int64_t>();
    if (v < lo || v > hi) {
        throw invalid(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    }
    return v;
}

inline std::optional<bool> get_bool(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        return std::nullopt;
    }
    if (!it->is_boolean()) {
        throw invalid(key, "expected true or false");
    }
    return it->get<bool>();
}

} // namespace radixrt::http
