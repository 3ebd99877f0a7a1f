// libFuzzer: chat template detection and rendering. The input is a template
// text and messages separated by NUL bytes (role, content, role, content...).
#include <cstdint>
#include <string>
#include <vector>

#include "http/chat_template.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace rh = radixrt::http;
    std::vector<std::string> parts(1);
    for (std::size_t i = 0; i < size; ++i) {
        if (data[i] == 0) {
            parts.emplace_back();
        } else {
            parts.back() += char(data[i]);
        }
    }
    const auto detected = rh::detect_chat_format(parts[0]);
    std::vector<rh::chat_message> msgs;
    for (std::size_t i = 1; i + 1 < parts.size(); i += 2) {
        msgs.push_back({parts[i], parts[i + 1]});
    }
    for (auto f :
         {detected, rh::chat_format::chatml, rh::chat_format::llama2, rh::chat_format::llama3,
          rh::chat_format::mistral, rh::chat_format::zephyr, rh::chat_format::simple}) {
        (void)rh::render_chat(f, msgs);
    }
    return 0;
}
