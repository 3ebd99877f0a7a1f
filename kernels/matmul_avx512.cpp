// AVX-512 instantiation of the matmul body (see matmul_avx2.cpp).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "kernels/matmul.hpp"
#include "kernels/parallel.hpp"

#if defined(__clang__) // clang ignores GCC's target pragma; this is its spelling
#pragma clang attribute push(                                                                      \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c"))),                   \
    apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")
#endif
// GCC 12's AVX-512 intrinsics seed results with _mm512_undefined_ps(), which
// its own flow analysis then reports as uninitialised (a header false positive).
#pragma GCC diagnostic push
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace radixrt::kernels::detail {
namespace {

struct avx512_ops {
    using vec = __m512;
    static constexpr std::size_t width = 16;
    static constexpr std::size_t max_rows = 6; // 24 accumulators + 4 weights of 32 registers
    static vec zero() { return _mm512_setzero_ps(); }
    static vec loadu(const float* p) { return _mm512_loadu_ps(p); }
    static void storeu(float* p, vec v) { _mm512_storeu_ps(p, v); }
    static vec fmadd(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
    static vec add(vec a, vec b) { return _mm512_add_ps(a, b); }
    static vec mul(vec a, vec b) { return _mm512_mul_ps(a, b); }
    static vec set1(float f) { return _mm512_set1_ps(f); }
    static __m256 fold(vec v) { // 16 lanes to 8: v[i] + v[i + 8]
        return _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    }
    static void hsum4(vec a, vec b, vec c, vec d, float* out) {
        const __m256 h =
            _mm256_hadd_ps(_mm256_hadd_ps(fold(a), fold(b)), _mm256_hadd_ps(fold(c), fold(d)));
        _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
    }
    static vec f16(const std::uint16_t* p) {
        return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    }
    static vec bf16(const std::uint16_t* p) {
        const __m512i w =
            _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
        return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
    }
};

#include "kernels/detail/matmul_simd.hpp"

} // namespace

void matmul_avx512(const float* x, std::size_t n, const weight_view& w, float* y) {
    matmul_simd<avx512_ops>(x, n, w, y);
}

} // namespace radixrt::kernels::detail

#pragma GCC diagnostic pop
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
