#include "http/api_error.hpp"

#include "http/json_util.hpp"

namespace radixrt::http {

api_error invalid(const std::string& param, const std::string& what) {
    return api_error(400, "invalid_request_error", "invalid_value", "'" + param + "': " + what,
                     param);
}

std::string error_body(const api_error& e) {
    return dump({{"error",
                  {{"message", e.what()},
                   {"type", e.type},
                   {"code", e.code},
                   {"param", e.param.empty() ? json(nullptr) : json(e.param)}}}});
}

std::string same_name(std::string_view engine_param) {
    return std::string(engine_param);
}

api_error from_engine(const radixrt::error& e, const param_names& names) {
    const std::string param = e.param.empty() ? std::string() : names(e.param);
    switch (e.code) {
    case errc::overloaded:
        return api_error(503, "server_error", "overloaded", e.message);
    case errc::shutting_down:
        return api_error(503, "server_error", "shutting_down", e.message);
    case errc::context_exceeded:
        return api_error(400, "invalid_request_error", "context_length_exceeded", e.message, param);
    case errc::invalid_request:
        return api_error(400, "invalid_request_error", "invalid_value", e.message, param);
    case errc::internal:
        break;
    }
    return api_error(500, "server_error", "internal_error", e.message);
}

api_error from_finish(const finish_event& e) {
    if (e.error == errc::shutting_down) {
        return api_error(503, "server_error", "shutting_down", e.message);
    }
    return api_error(500, "server_error", "internal_error",
                     e.message.empty() ? "the request failed" : e.message);
}

} // namespace radixrt::http
