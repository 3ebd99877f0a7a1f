// libFuzzer: the tool-call parser (http/tool_calls.hpp) on arbitrary model
// output, in each call syntax. Invariant: the split into content and calls
// is the same whether the text comes whole or in pieces (the first two
// bytes choose the syntax and the piece sizes), and never crashes.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "http/tool_calls.hpp"

namespace rh = radixrt::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const auto f = rh::tool_format(data[0] % 5);
    const std::size_t step = 1 + data[1] % 7;
    const std::string text(reinterpret_cast<const char*>(data + 2), size - 2);
    const auto whole = rh::parse_tool_calls(f, text);
    rh::tool_call_parser p(f);
    rh::parsed_output pieces;
    auto take = [&](const std::vector<rh::tool_event>& events) {
        for (const auto& e : events) {
            switch (e.what) {
            case rh::tool_event::kind::content:
                pieces.content += e.text;
                break;
            case rh::tool_event::kind::call_begin:
                if (e.index != pieces.calls.size()) {
                    std::abort(); // calls begin in order
                }
                pieces.calls.push_back({e.id, e.text, {}, false});
                break;
            case rh::tool_event::kind::arguments:
                pieces.calls.at(e.index).arguments += e.text;
                break;
            case rh::tool_event::kind::call_end:
                pieces.calls.at(e.index).complete = true;
                break;
            }
        }
    };
    for (std::size_t at = 0; at < text.size(); at += step) {
        take(p.push(std::string_view(text).substr(at, step)));
    }
    take(p.finish());
    if (pieces.content != whole.content || pieces.calls.size() != whole.calls.size()) {
        std::abort();
    }
    for (std::size_t i = 0; i < whole.calls.size(); ++i) {
        const auto& a = whole.calls[i];
        const auto& b = pieces.calls[i];
        if (a.name != b.name || a.arguments != b.arguments || a.complete != b.complete) {
            std::abort();
        }
    }
    return 0;
}
