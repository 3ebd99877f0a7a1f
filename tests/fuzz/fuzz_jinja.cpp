// libFuzzer: the Jinja interpreter on arbitrary template text (templates
// come from GGUF files and from requests: /apply_chat_template's
// `chat_template`), rendered with a chat conversation. Any outcome but text
// or a jinja::error (a crash, a sanitizer report, another exception, a
// limit not holding) is a finding.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "jinja/template.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace rj = radixrt::jinja;
    static const auto context = nlohmann::ordered_json::parse(R"({
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call12345",
             "type": "function", "function": {"name": "add", "arguments": {"a": 2, "b": 2}}}]},
            {"role": "tool", "tool_call_id": "call12345", "content": "4"}],
        "tools": [{"type": "function", "function": {"name": "add", "description": "Adds",
                   "parameters": {"type": "object", "properties": {"a": {"type": "number"}}}}}],
        "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"})");
    rj::render_options opt;
    opt.max_steps = 200'000; // keeps each input fast; the limit itself is under test
    opt.max_output_bytes = 1u << 20;
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const auto t = rj::template_::parse(text);
        const auto out = t.render(context, opt);
        if (out.size() > opt.max_output_bytes) {
            std::abort(); // the output limit did not hold
        }
    } catch (const rj::error&) {
        // a syntax, runtime or limit error with its position: fine
    }
    return 0;
}
