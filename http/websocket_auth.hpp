#pragma once
// How a browser passes an API key when opening a WebSocket: it cannot set
// an Authorization header, so the key may come as a subprotocol entry
// "radixrt.key.KEY" (Sec-WebSocket-Protocol) or as ?api_key=KEY.
#include <string>
#include <string_view>

namespace radixrt::http {

struct websocket_credentials {
    std::string authorization; // "Bearer KEY", or "" when none was given
    std::string subprotocol;   // to echo in the handshake answer, or ""
};

/// From the request's Authorization, Sec-WebSocket-Protocol and target, in
/// that order of precedence. A client that offers the key as a subprotocol
/// must get one of its offers back: "radixrt" if it offered it (so the key
/// is not repeated in the answer), else the key entry itself.
websocket_credentials websocket_credentials_of(std::string_view authorization,
                                               std::string_view protocols, std::string_view target);

} // namespace radixrt::http
