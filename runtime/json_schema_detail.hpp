#pragma once
// Helpers of runtime/json_schema_grammar.cpp (tested through it): types,
// literals, counts, integer ranges and the object rule.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/json_value.hpp"

namespace radixrt::runtime {

/// The schema's `type` as a list; inferred from the keywords when absent
/// (properties -> object, items -> array, lengths/pattern/format -> string,
/// bounds -> integer... no keyword: "any").
std::vector<std::string> schema_types(const json_value& s);
/// v is an instance of one of the types.
bool type_admits(const std::vector<std::string>& types, const json_value& v);
/// A GBNF string literal matching exactly these bytes.
std::string gbnf_literal(std::string_view bytes);
/// A non-negative integer keyword (at most 1000), or fallback when absent.
std::size_t count_keyword(const json_value& s, const char* key, std::size_t fallback);
/// The integer range of minimum/maximum/exclusive*, nullopt when unbounded.
std::optional<std::pair<std::int64_t, std::int64_t>> integer_bounds(const json_value& s);
/// GBNF for the decimal integers in [lo, hi] (canonical form, no "-0").
std::string integer_range_gbnf(std::int64_t lo, std::int64_t hi);

using visit_fn = std::function<std::string(const json_value&, const std::string&, int)>;
using add_fn = std::function<std::string(const std::string&, std::string)>;
/// The rule for an object schema (see docs/grammars.md for the choices).
std::string object_rule(const json_value& s, const std::string& hint, int depth,
                        const visit_fn& visit, const add_fn& add);

} // namespace radixrt::runtime
