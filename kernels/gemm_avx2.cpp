// AVX2 + FMA + F16C micro tiles of the panel GEMM (kernels/gemm.hpp): up to
// 6 input rows x one half (16 columns) of a panel at a time in 12 of the 16
// registers. Headers first, then the target pragma (see gemm_avx512.cpp).
#include <immintrin.h>

#include <cstdint>

#include "kernels/gemm.hpp"

#if defined(__clang__) // clang ignores GCC's target pragma; this is its spelling
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

namespace radixrt::kernels::detail {
namespace {

constexpr std::size_t max_rows = 6;
constexpr std::size_t prefetch_distance = 2048; // bytes of panel ahead of the loads

// Eight weights of a panel row from element i, as F32.
template <dtype T> inline __m256 load8(const void* b, std::size_t i) {
    if constexpr (T == dtype::f32) {
        return _mm256_loadu_ps(static_cast<const float*>(b) + i);
    } else {
        const __m128i h =
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const std::uint16_t*>(b) + i));
        if constexpr (T == dtype::f16) {
            return _mm256_cvtph_ps(h);
        } else {
            return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
        }
    }
}

// c[i][j] = fma(a[i][k], b[k][j], c[i][j]) for k = 0 .. kc - 1, columns
// h * 16 .. h * 16 + 15; the same sequence per output whatever R.
template <int R, dtype T>
void half_tile(const float* a, std::size_t lda, const void* b, std::size_t kc, float* c,
               std::size_t ldc, std::size_t h) {
    __m256 c0[R], c1[R];
    for (int i = 0; i < R; ++i) {
        c0[i] = _mm256_loadu_ps(c + i * ldc + h * 16);
        c1[i] = _mm256_loadu_ps(c + i * ldc + h * 16 + 8);
    }
    constexpr std::size_t row_bytes = panel_width * (T == dtype::f32 ? 4 : 2);
    const char* ahead = static_cast<const char*>(b) + prefetch_distance;
    for (std::size_t k = 0; k < kc; ++k) {
        // As in gemm_avx512.cpp: the first half's pass prefetches whole panel rows.
        if (h == 0) {
            _mm_prefetch(ahead + k * row_bytes, _MM_HINT_T0);
            if constexpr (row_bytes > 64) {
                _mm_prefetch(ahead + k * row_bytes + 64, _MM_HINT_T0);
            }
        }
        const __m256 b0 = load8<T>(b, k * panel_width + h * 16);
        const __m256 b1 = load8<T>(b, k * panel_width + h * 16 + 8);
        for (int i = 0; i < R; ++i) {
            const __m256 av = _mm256_broadcast_ss(a + i * lda + k);
            c0[i] = _mm256_fmadd_ps(av, b0, c0[i]);
            c1[i] = _mm256_fmadd_ps(av, b1, c1[i]);
        }
    }
    for (int i = 0; i < R; ++i) {
        _mm256_storeu_ps(c + i * ldc + h * 16, c0[i]);
        _mm256_storeu_ps(c + i * ldc + h * 16 + 8, c1[i]);
    }
}

template <dtype T, int R = int(max_rows)>
void tile_rows(std::size_t r, const float* a, std::size_t lda, const void* b, std::size_t kc,
               float* c, std::size_t ldc) {
    if (r == std::size_t(R)) {
        half_tile<R, T>(a, lda, b, kc, c, ldc, 0);
        half_tile<R, T>(a, lda, b, kc, c, ldc, 1);
    } else if constexpr (R > 1) {
        tile_rows<T, R - 1>(r, a, lda, b, kc, c, ldc);
    }
}

void tile_avx2(dtype t, std::size_t r, const float* a, std::size_t lda, const void* b,
               std::size_t kc, float* c, std::size_t ldc) {
    switch (t) {
    case dtype::f16:
        return tile_rows<dtype::f16>(r, a, lda, b, kc, c, ldc);
    case dtype::bf16:
        return tile_rows<dtype::bf16>(r, a, lda, b, kc, c, ldc);
    default:
        return tile_rows<dtype::f32>(r, a, lda, b, kc, c, ldc);
    }
}

} // namespace

gemm_kernel gemm_kernel_avx2() {
    return {tile_avx2, max_rows};
}

} // namespace radixrt::kernels::detail

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
