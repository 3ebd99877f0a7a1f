#pragma once
/// Helpers for writing GBNF grammars (output_constraint with
/// constraint_kind::gbnf) that embed JSON Schemas: a tool call's wrapper
/// around each tool's arguments, for example.
#include <span>
#include <string>
#include <string_view>

#include "radixrt/request.hpp"

namespace radixrt {

struct named_schema {
    std::string rule;        ///< the rule to define (letters, digits and '-')
    std::string schema_json; ///< a JSON Schema, as JSON text
};

/// `rule ::= ...` for each entry, matching exactly that schema's instances
/// (as a json_schema constraint does), followed by the helper rules they use
/// (named `s-*`, `json-*`, `ws`, `hex`, `day31`, `hour`: do not give rules
/// of your own these names). No `root` rule: the caller writes it. An
/// unsupported keyword or malformed schema fails with invalid_request: the
/// message names the keyword, `param` is the failing entry's rule name.
expected<std::string> json_schema_rules(std::span<const named_schema> schemas);

/// A GBNF string literal matching exactly these bytes ("\"a\\\"b\"").
std::string gbnf_literal(std::string_view bytes);

} // namespace radixrt
