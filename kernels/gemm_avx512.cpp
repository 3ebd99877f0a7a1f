// AVX-512 micro tiles of the panel GEMM (kernels/gemm.hpp): up to 12 input
// rows x one 32-wide panel in 24 accumulators. The pragma gives every
// function below the target; headers come first so that nothing shared
// with other files is compiled for it. Only entered after
// kernels::active_isa() has checked the CPU.
#include <immintrin.h>

#include <cstdint>

#include "kernels/gemm.hpp"

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

constexpr std::size_t max_rows = 12;
constexpr std::size_t prefetch_distance = 2048; // bytes of panel ahead of the loads

// Sixteen weights of a panel row from element i, as F32.
template <dtype T> inline __m512 load16(const void* b, std::size_t i) {
    if constexpr (T == dtype::f32) {
        return _mm512_loadu_ps(static_cast<const float*>(b) + i);
    } else {
        const __m256i h =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const std::uint16_t*>(b) + i));
        if constexpr (T == dtype::f16) {
            return _mm512_cvtph_ps(h);
        } else {
            return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
        }
    }
}

// c[i][j] = fma(a[i][k], b[k][j], c[i][j]) for k = 0 .. kc - 1, the same
// instruction sequence per output whatever R.
template <int R, dtype T>
void tile(const float* a, std::size_t lda, const void* b, std::size_t kc, float* c,
          std::size_t ldc) {
    __m512 c0[R], c1[R];
    for (int i = 0; i < R; ++i) {
        c0[i] = _mm512_loadu_ps(c + i * ldc);
        c1[i] = _mm512_loadu_ps(c + i * ldc + 16);
    }
    constexpr std::size_t row_bytes = panel_width * (T == dtype::f32 ? 4 : 2);
    const char* ahead = static_cast<const char*>(b) + prefetch_distance;
    for (std::size_t k = 0; k < kc; ++k) {
        // Weights stream from DRAM in decode; the hardware prefetcher alone
        // leaves the FMAs waiting (prefetches past the panel are harmless).
        _mm_prefetch(ahead + k * row_bytes, _MM_HINT_T0);
        if constexpr (row_bytes > 64) {
            _mm_prefetch(ahead + k * row_bytes + 64, _MM_HINT_T0);
        }
        const __m512 b0 = load16<T>(b, k * panel_width);
        const __m512 b1 = load16<T>(b, k * panel_width + 16);
        for (int i = 0; i < R; ++i) {
            const __m512 av = _mm512_set1_ps(a[i * lda + k]);
            c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
        }
    }
    for (int i = 0; i < R; ++i) {
        _mm512_storeu_ps(c + i * ldc, c0[i]);
        _mm512_storeu_ps(c + i * ldc + 16, c1[i]);
    }
}

template <dtype T, int R = int(max_rows)>
void tile_rows(std::size_t r, const float* a, std::size_t lda, const void* b, std::size_t kc,
               float* c, std::size_t ldc) {
    if (r == std::size_t(R)) {
        tile<R, T>(a, lda, b, kc, c, ldc);
    } else if constexpr (R > 1) {
        tile_rows<T, R - 1>(r, a, lda, b, kc, c, ldc);
    }
}

void tile_avx512(dtype t, std::size_t r, const float* a, std::size_t lda, const void* b,
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

gemm_kernel gemm_kernel_avx512() {
    return {tile_avx512, max_rows};
}

} // namespace radixrt::kernels::detail

#pragma GCC diagnostic pop
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
