// Cost of one grammar token mask on the real Qwen2 vocabulary (151,669
// tokens, shared/testdata) for a JSON grammar in typical states, to compare
// with one decode step. One thread.
#include <algorithm>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "runtime/grammar_mask.hpp"
#include "runtime/grammar_processor.hpp"

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

// The id of the token whose bytes are exactly s.
std::int32_t token_of(const rr::token_trie& trie, const std::string& s) {
    for (std::size_t id = 0; id < trie.vocab_size(); ++id) {
        if (trie.bytes(rr::token_id(id)) == s) {
            return std::int32_t(id);
        }
    }
    return -1;
}

// What a request pays per token while the model writes a JSON string: the
// processor catches up with one more token of the string, masks and
// applies the mask to a logits row (the state repeats from token to token).
void BM_processor_in_string(benchmark::State& state) {
    const auto& trie = qwen2();
    rr::grammar_processor p(rr::grammar::parse(json_grammar), trie);
    std::vector<std::int32_t> generated;
    for (const char* piece : {"{\"", "name", "\":", " \""}) {
        generated.push_back(token_of(*trie, piece));
    }
    const std::int32_t word = token_of(*trie, " the");
    if (word < 0 || std::find(generated.begin(), generated.end(), -1) != generated.end()) {
        state.SkipWithError("a piece is not a Qwen2 token");
        return;
    }
    std::vector<float> logits(trie->vocab_size(), 0.0f);
    for (auto _ : state) {
        generated.push_back(word);
        p.process(generated, logits);
        benchmark::DoNotOptimize(logits.data());
    }
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
BENCHMARK(BM_processor_in_string)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_trie_build)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
