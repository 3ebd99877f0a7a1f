// Kernel throughput as a fraction of this machine's limits, measured in the
// same run: decode GEMV against DRAM read bandwidth, prefill GEMM against FMA
// peak (the float types) or int8 multiply-add peak (the quantized types). Run:
// build/bench/kernels_bench (add --benchmark_filter=... to pick).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>
#include <vector>

#include "bench/machine_limits.hpp"
#include "kernels/attention.hpp"
#include "kernels/cpu.hpp"
#include "kernels/dtype.hpp"
#include "kernels/gemm.hpp"
#include "kernels/matmul.hpp"

namespace rk = radixrt::kernels;
namespace rb = radixrt::bench;

namespace {

// The bytes a matmul reads: quantized rows as stored, float weights as the
// GEMM panels a loaded model holds (kernels/gemm.hpp).
struct weights {
    std::vector<char> rows, data;
    rk::weight_view view;
};

weights make_weights(rk::dtype t, std::size_t rows, std::size_t cols) {
    std::mt19937 g(1);
    std::uniform_real_distribution<float> u(-1, 1);
    weights w;
    const std::size_t rbytes = rk::row_bytes(t, cols);
    w.rows.resize(rows * rbytes);
    std::vector<float> row(cols);
    for (std::size_t r = 0; r < rows; ++r) {
        for (auto& v : row) {
            v = u(g);
        }
        rk::quantize_row(t, row.data(), cols, w.rows.data() + r * rbytes);
    }
    w.view = {t, w.rows.data(), rows, cols};
    if (rk::is_quantized(t)) {
        w.data = w.rows;
    } else {
        w.data.resize(rk::packed_bytes(w.view));
        rk::pack_panels(w.view, w.data.data());
    }
    return w;
}

void BM_limits(benchmark::State& state) {
    for (auto _ : state) {
        benchmark::DoNotOptimize(rb::read_bandwidth());
    }
    state.counters["read_GB/s"] = rb::read_bandwidth() / 1e9;
    state.counters["fma_GFLOP/s"] = rb::fma_peak() / 1e9;
    state.counters["fma512_GFLOP/s"] = rb::fma_peak_avx512() / 1e9;
    state.counters["int8_GMAC/s"] = rb::int8_peak() / 1e9;
}
BENCHMARK(BM_limits)->Iterations(1)->Unit(benchmark::kMillisecond);

// args: dtype, rows (out features), cols (in features), n (input rows)
void BM_matmul(benchmark::State& state) {
    const auto t = rk::dtype(state.range(0));
    const auto rows = std::size_t(state.range(1)), cols = std::size_t(state.range(2)),
               n = std::size_t(state.range(3));
    auto w = make_weights(t, rows, cols);
    // Decode reads a model's weights from DRAM (a real model is far larger
    // than L3): rotate through copies totalling >= 256 MiB so the cache
    // cannot serve them (n = 1, and n = 8: a step of eight decoding sequences).
    const std::size_t copies =
        n <= 8 ? std::max<std::size_t>(1, (256u << 20) / w.data.size() + 1) : 1;
    std::vector<char> pool(copies * w.data.size());
    for (std::size_t c = 0; c < copies; ++c) {
        std::copy(w.data.begin(), w.data.end(), pool.begin() + std::ptrdiff_t(c * w.data.size()));
    }
    std::vector<float> x(n * cols, 0.5f), y(n * rows);
    double seconds = 0;
    std::size_t next = 0;
    for (auto _ : state) {
        rk::weight_view view = w.view;
        const char* copy = pool.data() + (next++ % copies) * w.data.size();
        (rk::is_quantized(t) ? view.data : view.panels) = copy;
        const auto t0 = std::chrono::steady_clock::now();
        rk::matmul(x.data(), n, view, y.data());
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        benchmark::ClobberMemory();
    }
    const double it = double(state.iterations());
    const double bytes = double(w.data.size()) * it, flops = 2.0 * double(n * rows * cols) * it;
    state.SetLabel(std::string(rk::dtype_name(t)));
    state.counters["GB/s"] = bytes / seconds / 1e9;
    state.counters["GFLOP/s"] = flops / seconds / 1e9;
    state.counters["of_bw"] = bytes / seconds / rb::read_bandwidth();
    // against the peak of the vector width the kernels use
    if (rk::is_quantized(t)) { // integer dot products: against the int8 peak
        state.counters["of_int8"] = flops / 2 / seconds / rb::int8_peak();
    } else {
        const double peak =
            rk::active_isa() == rk::isa::avx512 ? rb::fma_peak_avx512() : rb::fma_peak();
        state.counters["of_fma"] = flops / seconds / peak;
    }
}

void matmul_args(benchmark::internal::Benchmark* b) {
    for (auto dt : {rk::dtype::f32, rk::dtype::f16, rk::dtype::bf16, rk::dtype::q8_0,
                    rk::dtype::q4_0, rk::dtype::q4_k, rk::dtype::q6_k}) {
        const int t = int(dt);
        for (auto [rows, cols] : {std::pair{768, 768}, {2048, 768}, {32000, 768}}) {
            for (int n : {1, 8, 64}) {
                b->Args({t, rows, cols, n});
            }
        }
    }
}
BENCHMARK(BM_matmul)->Apply(matmul_args)->Unit(benchmark::kMicrosecond)->UseRealTime();

// args: sequences, context per sequence, new tokens per sequence, F16 cache (0/1),
// shared blocks (0/1)
void BM_attention(benchmark::State& state) {
    const std::size_t seqs = std::size_t(state.range(0)), ctx = std::size_t(state.range(1)),
                      add = std::size_t(state.range(2));
    const bool f16 = state.range(3) != 0;
    const std::size_t heads = 12, kv_heads = 12, hd = 64, bs = 16;
    rk::kv_layout layout{bs, kv_heads, hd, f16};
    const std::size_t blocks_per = (ctx + bs - 1) / bs;
    // K/V of 0.01 / 0.02, as F32 or as IEEE half
    const std::size_t elems = seqs * blocks_per * layout.block_elems();
    std::vector<float> k(f16 ? 0 : elems, 0.01f), v(f16 ? 0 : elems, 0.02f);
    std::vector<std::uint16_t> kh(f16 ? elems : 0, rk::f32_to_f16(0.01f)),
        vh(f16 ? elems : 0, rk::f32_to_f16(0.02f));
    const void* ka = f16 ? static_cast<const void*>(kh.data()) : k.data();
    const void* va = f16 ? static_cast<const void*>(vh.data()) : v.data();
    std::vector<std::int32_t> table;
    for (std::size_t i = 0; i < seqs * blocks_per; ++i) {
        table.push_back(std::int32_t(i));
    }
    // arg 4 (optional): 1 = every sequence reads the first one's blocks (a
    // shared prefix of the whole context, as a prompt group decoding together)
    const bool shared = state.range(4) != 0;
    std::vector<rk::paged_seq> ps;
    for (std::size_t s = 0; s < seqs; ++s) {
        ps.push_back({table.data() + (shared ? 0 : s) * blocks_per, ctx - add, add, s * add});
    }
    std::vector<float> q(seqs * add * heads * hd, 0.1f), out(q.size());
    for (auto _ : state) {
        rk::paged_attention(q.data(), out.data(), ps, ka, va, layout, heads, 0.125f);
        benchmark::ClobberMemory();
    }
    // K and V bytes each query token reads
    double kv_bytes = 0;
    for (std::size_t t = 0; t < add; ++t) {
        kv_bytes += double(ctx - add + t + 1) * 2 * layout.token_elems() * (f16 ? 2 : 4);
    }
    state.counters["KV_GB/s"] = benchmark::Counter(
        kv_bytes * double(seqs) * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_attention)
    ->Args({8, 512, 1, 0, 0})
    ->Args({1, 512, 512, 0, 0})
    ->Args({8, 512, 1, 1, 0})
    ->Args({1, 512, 512, 1, 0})
    ->Args({8, 512, 1, 1, 1})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

} // namespace

BENCHMARK_MAIN();
