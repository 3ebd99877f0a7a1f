#include "bench/machine_limits.hpp"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "kernels/parallel.hpp"

namespace radixrt::bench {
namespace {

using clock_type = std::chrono::steady_clock;

__attribute__((target("avx2"))) float sum_range(const float* p, std::size_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (std::size_t i = 0; i + 32 <= n; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
    }
    float out[8];
    _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    return out[0];
}

__attribute__((target("avx2,fma"))) float fma_chains(std::size_t iters) {
    // 10 independent chains hide the FMA latency on 2 FMA pipes.
    __m256 acc[10];
    for (int i = 0; i < 10; ++i) {
        acc[i] = _mm256_set1_ps(float(i));
    }
    const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
    for (std::size_t k = 0; k < iters; ++k) {
        for (int i = 0; i < 10; ++i) {
            acc[i] = _mm256_fmadd_ps(acc[i], m, a);
        }
    }
    float out[8];
    __m256 s = acc[0];
    for (int i = 1; i < 10; ++i) {
        s = _mm256_add_ps(s, acc[i]);
    }
    _mm256_storeu_ps(out, s);
    return out[0];
}

__attribute__((target("avx512f"))) float fma_chains_512(std::size_t iters) {
    __m512 acc[10];
    for (int i = 0; i < 10; ++i) {
        acc[i] = _mm512_set1_ps(float(i));
    }
    const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
    for (std::size_t k = 0; k < iters; ++k) {
        for (int i = 0; i < 10; ++i) {
            acc[i] = _mm512_fmadd_ps(acc[i], m, a);
        }
    }
    __m512 s = acc[0];
    for (int i = 1; i < 10; ++i) {
        s = _mm512_add_ps(s, acc[i]);
    }
    float out[16];
    _mm512_storeu_ps(out, s);
    return out[0];
}

// Independent chains of the int8 dot step the quantized kernels use:
// 32 u8 x s8 products (maddubs), pair sums to int32 (madd), accumulate.
__attribute__((target("avx2"))) float int8_chains(std::size_t iters) {
    __m256i acc[8];
    for (int i = 0; i < 8; ++i) {
        acc[i] = _mm256_set1_epi32(i);
    }
    const __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2), one = _mm256_set1_epi16(1);
    for (std::size_t k = 0; k < iters; ++k) {
        for (int i = 0; i < 8; ++i) {
            acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), one));
        }
    }
    __m256i s = acc[0];
    for (int i = 1; i < 8; ++i) {
        s = _mm256_add_epi32(s, acc[i]);
    }
    return float(_mm256_extract_epi32(s, 0));
}

std::atomic<float> sink{0.0f};

template <typename Fn> double fma_rate(Fn chains, int lanes) {
    const std::size_t iters = 20'000'000, tasks = 64;
    double best = 0;
    for (int rep = 0; rep < 3; ++rep) {
        const auto t0 = clock_type::now();
        kernels::parallel_for(0, tasks, 1, [&](std::size_t b, std::size_t e) {
            for (std::size_t t = b; t < e; ++t) {
                sink.store(chains(iters / tasks), std::memory_order_relaxed);
            }
        });
        const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
        best = std::max(best, double(iters / tasks * tasks) * 10 * lanes * 2 / s);
    }
    return best;
}

} // namespace

double read_bandwidth() {
    static const double value = [] {
        const std::size_t n = (512u << 20) / sizeof(float);
        std::unique_ptr<float, decltype(&std::free)> buf(
            static_cast<float*>(std::aligned_alloc(64, n * 4)), &std::free);
        kernels::parallel_for(0, n, n / 64, [&](std::size_t b, std::size_t e) {
            std::memset(buf.get() + b, 0, (e - b) * 4); // first touch by the reading threads
        });
        double best = 0;
        for (int rep = 0; rep < 10; ++rep) {
            const auto t0 = clock_type::now();
            kernels::parallel_for(0, n / 32, n / 32 / 64, [&](std::size_t b, std::size_t e) {
                sink.store(sum_range(buf.get() + b * 32, (e - b) * 32), std::memory_order_relaxed);
            });
            const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
            best = std::max(best, double(n * 4) / s);
        }
        return best;
    }();
    return value;
}

double int8_peak() {
    static const double value = [] {
        const std::size_t iters = 20'000'000, tasks = 64;
        double best = 0;
        for (int rep = 0; rep < 3; ++rep) {
            const auto t0 = clock_type::now();
            kernels::parallel_for(0, tasks, 1, [&](std::size_t b, std::size_t e) {
                for (std::size_t t = b; t < e; ++t) {
                    sink.store(int8_chains(iters / tasks), std::memory_order_relaxed);
                }
            });
            const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
            best = std::max(best, double(iters / tasks * tasks) * 8 * 32 / s);
        }
        return best;
    }();
    return value;
}

double fma_peak() {
    static const double value = fma_rate(fma_chains, 8);
    return value;
}

double fma_peak_avx512() {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f")) {
        return 0.0;
    }
    static const double value = fma_rate(fma_chains_512, 16);
    return value;
}

} // namespace radixrt::bench
