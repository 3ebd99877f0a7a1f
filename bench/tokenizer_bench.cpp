// Tokenizer throughput: MB/s of input text encoded, on llama.cpp's vocabulary
// files in shared/testdata (RADIXRT_TESTDATA_DIR). One thread.
#include <map>
#include <string>

#include <benchmark/benchmark.h>

#include "runtime/tokenizer.hpp"

namespace rr = radixrt::runtime;

namespace {

const rr::tokenizer& vocab(const std::string& name) {
    static std::map<std::string, rr::tokenizer> loaded;
    auto it = loaded.find(name);
    if (it == loaded.end()) {
        const std::string path =
            std::string(RADIXRT_TESTDATA_DIR) + "/vocab/ggml-vocab-" + name + ".gguf";
        it = loaded.emplace(name, rr::tokenizer::from_gguf(rr::gguf_file::open(path))).first;
    }
    return it->second;
}

// About 64 KiB of English prose: one paragraph, repeated.
std::string english() {
    const std::string paragraph =
        "In a village at the edge of the forest, the baker counted loaves while the river "
        "carried leaves toward the old stone bridge. Children ran past the mill, shouting "
        "about the fair that would open on Saturday; their teacher, Mrs. O'Neill, had promised "
        "them 3 tickets each if they finished reading chapter 12. Nobody knew why the clock "
        "on the tower had stopped at 4:15, but everyone agreed it was a sign of rain.\n\n";
    std::string text;
    while (text.size() < 64 * 1024) {
        text += paragraph;
    }
    return text;
}

void encode_text(benchmark::State& state, const std::string& name, const std::string& text) {
    const auto& tok = vocab(name);
    std::size_t tokens = 0;
    for (auto _ : state) {
        auto ids = tok.encode(text, false);
        tokens = ids.size();
        benchmark::DoNotOptimize(ids.data());
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(text.size()));
    state.counters["tokens"] = double(tokens);
}

void BM_english(benchmark::State& state, const char* name) {
    encode_text(state, name, english());
}

// One 100,000-character word: merging must stay n log n.
void BM_long_word(benchmark::State& state, const char* name) {
    std::string word;
    while (word.size() < 100000) {
        word += "abcdefghij";
    }
    encode_text(state, name, word);
}

} // namespace

BENCHMARK_CAPTURE(BM_english, gpt2, "gpt-2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_english, qwen2, "qwen2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_english, starcoder, "starcoder")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_english, deepseek_coder, "deepseek-coder")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_english, llama_spm, "llama-spm")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_long_word, gpt2, "gpt-2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_long_word, qwen2, "qwen2")->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
