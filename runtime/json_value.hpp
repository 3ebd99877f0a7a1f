#pragma once
// A small JSON reader for the grammar converters (runtime code does not
// depend on a JSON library): a document tree with a depth limit. Numbers
// keep their text, so enum/const values are reproduced exactly.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace radixrt::runtime {

struct json_value {
    enum class kind { null, boolean, number, string, array, object };
    kind type = kind::null;
    bool flag = false;  // boolean
    std::string text;   // number: as written; string: decoded UTF-8
    std::vector<json_value> items;
    std::vector<std::string> keys; // object members in document order (a vector of
    std::vector<json_value> values; // pairs would need json_value complete)

    const json_value* find(std::string_view key) const;
    /// Compact JSON text (strings escaped as JSON requires, UTF-8 kept).
    std::string dump() const;
};

/// Throws std::invalid_argument naming the offset of a syntax error, or
/// when nesting exceeds max_depth.
json_value parse_json(std::string_view text, std::size_t max_depth = 64);

/// s as a JSON string literal (with quotes).
std::string json_quote(std::string_view s);

} // namespace radixrt::runtime
