#pragma once
// JSON Schema -> GBNF, for response_format / json_schema requests. The
// grammar accepts only instances of the schema (never more): where an
// exact grammar would be impractical the converter either narrows the
// language (documented in docs/grammars.md) or throws schema_error naming
// the keyword, so the gateway can answer 400 with it.
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "runtime/grammar.hpp"
#include "runtime/json_value.hpp"
#include "runtime/regex_grammar.hpp"

namespace radixrt::runtime {

/// GBNF text (root rule `root`) for the schema. Throws schema_error for an
/// unsupported keyword or value, std::invalid_argument for malformed JSON.
std::string json_schema_to_gbnf(const json_value& schema);
std::string json_schema_to_gbnf(std::string_view schema_json);

/// Rules for several schemas in one grammar, for callers that compose
/// their own root (tool calls: a call's wrapper around each tool's
/// arguments): `name ::= ...` for each (name, schema JSON) pair, then the
/// helper rules (s-*) and the JSON primitives (json-*, ws, hex, ...) they
/// use. Names must not collide with those. Throws as json_schema_to_gbnf.
std::string json_schema_rules(std::span<const std::pair<std::string, std::string>> schemas);

/// The parsed grammar of json_schema_to_gbnf.
std::shared_ptr<const grammar> json_schema_grammar(std::string_view schema_json);

/// Any JSON object (`response_format: {"type": "json_object"}`).
std::shared_ptr<const grammar> json_object_grammar();

} // namespace radixrt::runtime
