// libFuzzer: every endpoint's request parsing. The first byte picks the API,
// the rest is the body; anything must parse or give an api_error.
#include <cstdint>
#include <string>

#include "http/request_parsing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace rh = radixrt::http;
    if (size == 0) {
        return 0;
    }
    static const rh::server_config cfg;
    const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        const auto j = rh::parse_body(body, cfg.max_json_depth);
        switch (data[0] % 4) {
        case 0:
            rh::check_model(j, "radixrt-builtin");
            (void)rh::parse_completion(j, cfg);
            break;
        case 1: {
            auto c = rh::parse_chat(j, cfg);
            (void)rh::render_chat(rh::chat_format::chatml, c.messages);
            break;
        }
        case 2:
            (void)rh::parse_generate(j, cfg);
            break;
        default:
            (void)rh::parse_ws_generate(j, cfg);
            break;
        }
    } catch (const rh::api_error&) {
    }
    return 0;
}
