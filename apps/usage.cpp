#include "apps/usage.hpp"

#include <array>
#include <utility>

#include "kernels/cpu.hpp"

#ifndef RADIXRT_VERSION
#define RADIXRT_VERSION "unknown"
#endif
#ifndef RADIXRT_GIT_COMMIT
#define RADIXRT_GIT_COMMIT "unknown"
#endif

namespace radixrt::apps {
namespace {

constexpr const char* header = "radixrt: a prefix-sharing LLM runtime for CPUs\n";

// One entry per subcommand, in the order of the full help.
constexpr std::array<std::pair<std::string_view, std::string_view>, 5> commands = {{
    {"serve",
     R"(  radixrt serve [--model FILE.gguf] [--alias NAME] [--host H] [--port P]
                   [--config FILE.json] [--threads N] [--workers N] [--http-threads N]
                   [--api-key KEY] [--api-key-file FILE] [--cors-origin ORIGIN]...
                   [--kv-cache-mb N] [--kv-type f16|f32] [--no-cache] [--no-webui]
                   [--policy lpm|fcfs] [--chat-template NAME] [--set key.path=value]...
                   [--print-config]
)"},
    {"bench",
     R"(  radixrt bench [--base-url URL] [--endpoint completions|chat|generate|ws] [--api-key K]
                   [--model NAME] [--workload shared-prefix|random|multi-turn|trace]
                   [--groups N] [--prompts-per-group N] [--system-len N] [--question-len N]
                   [--output-len N] [--range-ratio R] [--num-prompts N] [--input-len N]
                   [--conversations N] [--turns N] [--trace FILE.jsonl] [--vocab-size N]
                   [--prompt-format ids|text] [--request-rate R|inf] [--max-concurrency C]
                   [--warmup N] [--duration S] [--timeout S] [--seed S] [--respect-eos]
                   [--output-json FILE] [--no-progress]
)"},
    {"client",
     R"(  radixrt client [--base-url URL] [--prompt TEXT] [--max-tokens N] [--chat | --ws]
                   [--temperature T] [--api-key K] [--ignore-eos]
)"},
    {"generate",
     R"(  radixrt generate [--model FILE.gguf] (--prompt TEXT | --prompt-ids 1,2,3)
                   [--max-tokens N] [--temperature T] [--top-k K] [--top-p P]
                   [--min-p P] [--repetition-penalty R] [--seed S] [--threads N]
                   [--ignore-eos] [--print-ids]
)"},
    {"model",
     R"(  radixrt model synth --out FILE.gguf [--preset tiny|small|110m] [--dim N]
                   [--layers N] [--heads N] [--kv-heads N] [--ffn N] [--vocab N]
                   [--context N] [--type TYPE] [--seed S] [--vocab-from VOCAB.gguf]
                   (TYPE: f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k
                    q6_k q4_k_m q5_k_m)
  radixrt model info FILE.gguf
  radixrt model quantize IN.gguf OUT.gguf q8_0|q4_0|q4_k|q5_k|q6_k|q4_k_m|q5_k_m
)"},
}};

// What each subcommand's usage adds below its synopsis.
std::string_view notes(std::string_view command) {
    if (command == "serve") {
        return "\nWithout --model, serve uses the built-in synthetic model. serve reads\n"
               "RADIXRT_API_KEY when no key is given; see configs/default.json.\n";
    }
    if (command == "client" || command == "bench") {
        return "\n--base-url is the server's root, with or without a trailing /v1 (default\n"
               "http://127.0.0.1:8080). Without --api-key, RADIXRT_API_KEY is used.\n";
    }
    if (command == "generate") {
        return "\nWithout --model, generate uses the built-in synthetic model.\n";
    }
    return {};
}

} // namespace

std::string usage_of(std::string_view command) {
    std::string out;
    for (const auto& [name, text] : commands) {
        if (command.empty() || name == command) {
            out += text;
        }
    }
    if (command.empty()) {
        return std::string(header) + "\nusage:\n" + out +
               "  radixrt --version\n\n"
               "Without --model, serve and generate use the built-in synthetic model.\n"
               "serve reads RADIXRT_API_KEY when no key is given; see configs/default.json.\n"
               "`radixrt COMMAND --help` shows one command's usage.\n";
    }
    if (out.empty()) {
        return "commands: serve, bench, client, generate, model (radixrt --help for all)\n";
    }
    return "usage:\n" + out + std::string(notes(command));
}

bool known_command(std::string_view command) {
    for (const auto& c : commands) {
        if (c.first == command) {
            return true;
        }
    }
    return false;
}

std::string version_text() {
    std::string compiled, supported;
    for (auto i : {kernels::isa::scalar, kernels::isa::avx2, kernels::isa::avx512}) {
#if !defined(__x86_64__)
        if (i != kernels::isa::scalar) {
            continue; // the SIMD kernels are x86-64 only
        }
#endif
        compiled += std::string(compiled.empty() ? "" : " ") + std::string(kernels::isa_name(i));
        if (kernels::isa_supported(i)) {
            supported +=
                std::string(supported.empty() ? "" : " ") + std::string(kernels::isa_name(i));
        }
    }
#if defined(__clang__)
    const std::string compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
    const std::string compiler = "gcc " __VERSION__;
#else
    const std::string compiler = "unknown compiler";
#endif
    return "radixrt " RADIXRT_VERSION " (commit " RADIXRT_GIT_COMMIT ")\n"
           "compiler: " +
           compiler + ", C++ " + std::to_string(__cplusplus) +
           "\n"
           "kernels:  built for " +
           compiled + "; this CPU runs " + supported + "; active " +
           std::string(kernels::isa_name(kernels::active_isa())) + "\n";
}

} // namespace radixrt::apps
