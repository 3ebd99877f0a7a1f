#include <ostream>

#include "apps/args.hpp"
#include "apps/commands.hpp"
#include "runtime/gguf.hpp"

namespace radixrt::apps {
namespace {

constexpr const char* usage = R"(radixrt: a prefix-sharing LLM runtime for CPUs

usage:
  radixrt serve [--model FILE.gguf] [--host H] [--port P] [--config FILE.json]
                   [--threads N] [--workers N] [--http-threads N] [--api-key KEY]
                   [--api-key-file FILE] [--kv-cache-mb N] [--kv-type f16|f32] [--no-cache]
                   [--no-webui] [--policy lpm|fcfs] [--chat-template NAME] [--set key.path=value]...
                   [--print-config]
  radixrt bench [--base-url URL] [--endpoint completions|chat|generate|ws] [--api-key K]
                   [--model NAME] [--workload shared-prefix|random|multi-turn|trace]
                   [--groups N] [--prompts-per-group N] [--system-len N] [--question-len N]
                   [--output-len N] [--range-ratio R] [--num-prompts N] [--input-len N]
                   [--conversations N] [--turns N] [--trace FILE.jsonl] [--vocab-size N]
                   [--prompt-format ids|text] [--request-rate R|inf] [--max-concurrency C]
                   [--warmup N] [--duration S] [--timeout S] [--seed S] [--respect-eos]
                   [--output-json FILE] [--no-progress]
  radixrt client [--base-url URL] [--prompt TEXT] [--max-tokens N] [--chat | --ws]
                   [--temperature T] [--api-key K] [--ignore-eos]
  radixrt generate [--model FILE.gguf] (--prompt TEXT | --prompt-ids 1,2,3)
                   [--max-tokens N] [--temperature T] [--top-k K] [--top-p P]
                   [--min-p P] [--repetition-penalty R] [--seed S] [--threads N]
                   [--ignore-eos] [--print-ids]
  radixrt model synth --out FILE.gguf [--preset tiny|small|110m] [--dim N]
                   [--layers N] [--heads N] [--kv-heads N] [--ffn N] [--vocab N]
                   [--context N] [--type TYPE] [--seed S] [--vocab-from VOCAB.gguf]
                   (TYPE: f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k
                    q6_k q4_k_m q5_k_m)
  radixrt model info FILE.gguf
  radixrt model quantize IN.gguf OUT.gguf q8_0|q4_0|q4_k|q5_k|q6_k|q4_k_m|q5_k_m

Without --model, serve and generate use the built-in synthetic model.
serve reads RADIXRT_API_KEY when no key is given; see configs/default.json.
)";

} // namespace

int run_cli(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
    if (argv.size() < 2 || argv[1] == "--help" || argv[1] == "-h" || argv[1] == "help") {
        (argv.size() < 2 ? err : out) << usage;
        return argv.size() < 2 ? 2 : 0;
    }
    const std::string cmd = argv[1];
    std::vector<std::string> rest(argv.begin() + 2, argv.end());
    for (const auto& a : rest) {
        if (a == "--help" || a == "-h") {
            out << usage;
            return 0;
        }
    }
    try {
        if (cmd == "generate") {
            return run_generate(std::move(rest), out, err);
        }
        if (cmd == "model") {
            return run_model(std::move(rest), out, err);
        }
        if (cmd == "serve") {
            return run_serve(std::move(rest), out, err);
        }
        if (cmd == "bench") {
            return run_bench(std::move(rest), out, err);
        }
        if (cmd == "client") {
            return run_client(std::move(rest), out, err);
        }
        throw usage_error("unknown command '" + cmd + "'");
    } catch (const usage_error& e) {
        err << "radixrt: " << e.what() << "\n\n" << usage;
        return 2;
    } catch (const runtime::gguf_error& e) {
        err << "radixrt: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        err << "radixrt: " << e.what() << "\n";
        return 1;
    }
}

} // namespace radixrt::apps
