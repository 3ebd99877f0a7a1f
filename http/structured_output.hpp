#pragma once
// Structured-output request fields -> the engine's output_constraint.
// OpenAI's response_format (text, json_object, json_schema) and llama.cpp's
// grammar (GBNF) on /v1/chat/completions, /v1/completions and WebSocket
// params; SGLang's sampling_params regex, json_schema (a JSON string, or an
// object), ebnf (read as GBNF) and grammar on /generate. Shapes are checked
// here; the grammar, schema or regex itself is compiled by the engine at
// submit, whose error names the same field (constraint.param, relative to
// the object the fields sit in, as the API's param_names expect).
#include <string>

#include "http/json_util.hpp"
#include "radixrt/request.hpp"

namespace radixrt::http {

enum class constraint_fields { openai, sglang };

/// The constraint j's fields ask for (constraint_kind::none if none). At
/// most one of them: a second is a 400. prefix is prepended to the param of
/// the 400s thrown here ("sampling_params.", "params.").
output_constraint parse_constraint(const json& j, constraint_fields f,
                                   const std::string& prefix = {});

/// nlohmann::json keeps object keys sorted, so a schema dumped from it lists
/// its properties alphabetically and the output would follow. This re-reads
/// an object schema from the raw text in the client's key order. base: the
/// JSON pointer of the object parse_constraint read ("", "/sampling_params",
/// "/params").
void keep_key_order(output_constraint& c, const std::string& body, const std::string& base);

} // namespace radixrt::http
