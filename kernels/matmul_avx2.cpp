// AVX2 + FMA + F16C instantiation of the matmul body. The pragma gives every
// function defined below the target; headers come first so that nothing
// shared with other files is compiled for it. Only entered after
// kernels::active_isa() has checked the CPU.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "kernels/matmul.hpp"
#include "kernels/parallel.hpp"

#if defined(__clang__) // clang ignores GCC's target pragma; this is its spelling
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

namespace radixrt::kernels::detail {
namespace {

struct avx2_ops {
    using vec = __m256;
    static constexpr std::size_t width = 8;
    static constexpr std::size_t max_rows = 3; // 12 accumulators + 4 weights of 16 registers
    static vec zero() { return _mm256_setzero_ps(); }
    static vec loadu(const float* p) { return _mm256_loadu_ps(p); }
    static void storeu(float* p, vec v) { _mm256_storeu_ps(p, v); }
    static vec fmadd(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
    static vec add(vec a, vec b) { return _mm256_add_ps(a, b); }
    static vec mul(vec a, vec b) { return _mm256_mul_ps(a, b); }
    static vec set1(float f) { return _mm256_set1_ps(f); }
    static void hsum4(vec a, vec b, vec c, vec d, float* out) {
        // lane j of h holds ((x0+x1)+(x2+x3)) or ((x4+x5)+(x6+x7)) of one input
        const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
        _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
    }
    static vec f16(const std::uint16_t* p) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    }
    static vec bf16(const std::uint16_t* p) {
        const __m256i w =
            _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
    }
};

#include "kernels/detail/matmul_simd.hpp"

} // namespace

void matmul_avx2(const float* x, std::size_t n, const weight_view& w, float* y) {
    matmul_simd<avx2_ops>(x, n, w, y);
}

} // namespace radixrt::kernels::detail

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
