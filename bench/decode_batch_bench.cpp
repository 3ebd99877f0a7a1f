// Decode steps of B sequences at once (B = 1, 8, 16, 32), each with 256
// tokens of context: the step the scheduler runs when B requests are
// generating. Reports generated tokens per second (B per step) and the
// time per step; compare with llama.cpp's llama-batched-bench S_TG column
// (docs/PERFORMANCE.md has the commands). BM_prefill runs one sequence's
// prompt of N tokens from position 0 as one step, warm and repeated, as
// llama-bench's ppN does.
//   RADIXRT_BENCH_MODEL=/tmp/m110-f16.gguf build/bench/decode_batch_bench
// Without the variable the built-in model runs (tiny: a smoke test only).
#include <chrono>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "runtime/forward.hpp"
#include "runtime/kv_storage.hpp"
#include "runtime/model.hpp"
#include "runtime/synthetic.hpp"

namespace rr = radixrt::runtime;

namespace {

std::shared_ptr<const rr::model> bench_model() {
    static const std::shared_ptr<const rr::model> m = [] {
        const char* path = std::getenv("RADIXRT_BENCH_MODEL");
        return path != nullptr ? rr::model::load(path) : rr::builtin_model();
    }();
    return m;
}

void BM_decode_step(benchmark::State& state) {
    const auto m = bench_model();
    const auto& c = m->config();
    const std::size_t batch = std::size_t(state.range(0)), ctx = 256, block = 16;
    const std::size_t per_seq = (ctx + 1 + block - 1) / block;
    rr::kv_storage kv(c, batch * per_seq, block);
    rr::forward_pass fwd(m);
    std::vector<std::vector<rr::block_id>> tables(batch);
    std::vector<std::vector<rr::token_id>> prompts(batch);
    for (std::size_t s = 0; s < batch; ++s) {
        for (std::size_t b = 0; b < per_seq; ++b) {
            tables[s].push_back(rr::block_id(std::int32_t(s * per_seq + b)));
        }
        for (std::size_t i = 0; i < ctx; ++i) {
            prompts[s].push_back(rr::token_id((i * 7 + s * 13) % (c.vocab_size - 3) + 3));
        }
        const rr::seq_step step{prompts[s], 0, tables[s], false};
        fwd.run({&step, 1}, kv);
    }
    std::vector<rr::token_id> next(batch, 5);
    std::vector<rr::seq_step> steps;
    for (std::size_t s = 0; s < batch; ++s) {
        steps.push_back({{&next[s], 1}, ctx, tables[s], false});
    }
    for (auto _ : state) {
        // Every step decodes position ctx again (its KV row is overwritten):
        // the same work each iteration.
        benchmark::DoNotOptimize(fwd.run(steps, kv).data());
    }
    state.counters["tok/s"] =
        benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_prefill(benchmark::State& state) {
    const auto m = bench_model();
    const auto& c = m->config();
    const std::size_t n = std::size_t(state.range(0)), block = 16;
    rr::kv_storage kv(c, (n + block - 1) / block, block);
    rr::forward_pass fwd(m);
    std::vector<rr::block_id> table;
    for (std::size_t b = 0; b < kv.n_blocks(); ++b) {
        table.push_back(rr::block_id(std::int32_t(b)));
    }
    std::vector<rr::token_id> prompt;
    for (std::size_t i = 0; i < n; ++i) {
        prompt.push_back(rr::token_id(i % 250 + 3));
    }
    const rr::seq_step step{prompt, 0, table, false};
    fwd.run({&step, 1}, kv); // warm: buffers sized and touched
    for (auto _ : state) {
        benchmark::DoNotOptimize(fwd.run({&step, 1}, kv).data());
    }
    state.counters["tok/s"] =
        benchmark::Counter(double(n), benchmark::Counter::kIsIterationInvariantRate);
}

} // namespace

BENCHMARK(BM_prefill)->Arg(512)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_decode_step)->Arg(1)->Arg(8)->Arg(16)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
