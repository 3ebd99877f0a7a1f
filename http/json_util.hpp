#pragma once
// JSON helpers of the gateway: parsing request bodies, typed field access
// that reports the field by name, and serialisation that never throws on
// invalid UTF-8.
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "http/api_error.hpp"

namespace radixrt::http {

using nlohmann::json;

inline std::string dump(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// Nesting depth of a JSON text ([ and { outside strings), without parsing
/// it; stops counting past limit (returns limit + 1). Bodies deeper than the
/// limit are refused before the parser or anything recursive sees them.
std::size_t json_depth(std::string_view text, std::size_t limit);

/// A request body: a JSON object nested at most max_depth deep, or a 400.
json parse_body(const std::string& body, std::size_t max_depth);

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
