// libFuzzer: the WebSocket protocol handler on arbitrary text frames, with
// a gateway whose model is not loaded (so nothing is generated): every
// frame must end in an error event or be ignored, never a crash.
#include <cstdint>
#include <memory>
#include <string>

#include "http/websocket_protocol.hpp"

namespace {

class sink_channel : public radixrt::http::ws_channel {
  public:
    bool send(std::string text) override {
        sent += text.size();
        return true;
    }
    std::size_t sent = 0;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace rh = radixrt::http;
    static auto gw = std::make_shared<rh::gateway>(rh::server_config{});
    auto ch = std::make_shared<sink_channel>();
    auto conn = std::make_shared<rh::ws_connection>(gw, ch, rh::principal{});
    conn->on_message(std::string(reinterpret_cast<const char*>(data), size));
    conn->close();
    return 0;
}
