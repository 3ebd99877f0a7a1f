// Cost of one grammar token mask on the real Qwen2 vocabulary (151,669
// tokens, shared/testdata) for a JSON grammar in typical states, to compare
// with one decode step. One thread.
#include <string>

#include <benchmark/benchmark.h>

#include "runtime/grammar_mask.hpp"

namespace rr = radixrt::runtime;

namespace {

const char* json_grammar = R"g(root ::= object
value ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws ( member ( "," ws member )* )? "}" ws
member ::= string ":" ws value
array ::= "[" ws ( value ( "," ws value )* )? "]" ws
string ::= "\"" ( [^"\\\x00-\x1f] | "\\" ["\\/bfnrt] | "\\u" [0-9a-fA-F]{4} )* "\"" ws
number ::= "-"? ( "0" | [1-9] [0-9]{0,15} ) ( "." [0-9]+ )? ( [eE] [-+]? [0-9]+ )? ws
ws ::= [ \t\n]{0,20})g";

const std::shared_ptr<const rr::token_trie>& qwen2() {
    static const auto trie = rr::token_trie::from_tokenizer(rr::tokenizer::from_gguf(
        rr::gguf_file::open(std::string(RADIXRT_TESTDATA_DIR) + "/vocab/ggml-vocab-qwen2.gguf")));
    return trie;
}

void BM_json_mask(benchmark::State& state, const char* prefix) {
    const auto& trie = qwen2();
    rr::grammar_matcher m(rr::grammar::parse(json_grammar));
    if (!m.accept_bytes(prefix)) {
        state.SkipWithError("prefix rejected");
        return;
    }
    rr::token_mask mask;
    rr::mask_scratch scratch;
    for (auto _ : state) {
        rr::fill_token_mask(m, *trie, mask, scratch);
        benchmark::DoNotOptimize(mask.words.data());
    }
    state.counters["allowed"] = double(mask.count());
}

void BM_trie_build(benchmark::State& state) {
    const auto tok = rr::tokenizer::from_gguf(
        rr::gguf_file::open(std::string(RADIXRT_TESTDATA_DIR) + "/vocab/ggml-vocab-qwen2.gguf"));
    for (auto _ : state) {
        auto t = rr::token_trie::from_tokenizer(tok);
        benchmark::DoNotOptimize(t.get());
    }
}

} // namespace

BENCHMARK_CAPTURE(BM_json_mask, object_start, "")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_json_mask, key_start, "{")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_json_mask, in_string, "{\"name\": \"Jo")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_json_mask, in_number, "{\"n\": 12")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_json_mask, after_value, "{\"a\": [1, {\"b\": null}]")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_trie_build)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
