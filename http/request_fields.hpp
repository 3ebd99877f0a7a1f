#pragma once
// Which request fields each endpoint knows. A field the server does not
// honour is refused with a 400 naming it, never silently dropped; the few
// that OpenAI SDKs send on their own and that cannot change the output are
// accepted and ignored (README, "Ignored fields"). Features not built yet
// (forced tool calls) are refused here, in one place.
#include <string>

#include "http/json_util.hpp"

namespace radixrt::http {

enum class endpoint_fields {
    chat,
    completions,
    generate,
    generate_sampling,
    ws_message,
    ws_params,
    ws_cancel
};

/// 400 "unknown field 'x'" (param: prefix + x) for a field outside the table.
void check_known_fields(const json& j, endpoint_fields table, const std::string& prefix = {});

} // namespace radixrt::http
