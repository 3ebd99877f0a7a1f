#pragma once
// Errors as the HTTP API reports them: an OpenAI-style body
//   {"error": {"message", "type", "code", "param"}}
// built in one place (error_body), and the one table mapping engine errors
// (radixrt::errc) to statuses and codes.
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "radixrt/request.hpp"

namespace radixrt::http {

/// A request the API refuses; every handler throws it, the gateway answers it.
struct api_error : std::runtime_error {
    api_error(unsigned status, std::string type, std::string code, const std::string& message,
              std::string param = {})
        : std::runtime_error(message), status(status), type(std::move(type)), code(std::move(code)),
          param(std::move(param)) {}
    unsigned status;
    std::string type, code, param; // param empty: null
};

/// 400 invalid_value on a field: "'param': what".
api_error invalid(const std::string& param, const std::string& what);

/// The error body (JSON text) for e.
std::string error_body(const api_error& e);

/// Renames the engine's field names (OpenAI spelling) to an API's own.
using param_names = std::function<std::string(std::string_view engine_param)>;
std::string same_name(std::string_view engine_param);

/// An error from engine::submit, as this API reports it.
api_error from_engine(const radixrt::error& e, const param_names& names = same_name);

/// A request that ended with finish_reason::error (shutting down: 503, else 500).
api_error from_finish(const finish_event& e);

} // namespace radixrt::http
