// AVX2 + FMA + F16C bodies of matmul. Every function that uses the
// instructions carries the target attribute, so this file builds for the
// baseline ISA and is only entered after kernels::active_isa() says so.
#include "kernels/matmul.hpp"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "kernels/parallel.hpp"

#define RADIXRT_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace radixrt::kernels::detail {
namespace {

RADIXRT_AVX2 inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

RADIXRT_AVX2 inline __m256 q8_load8(const std::int8_t* q) {
    return _mm256_cvtepi32_ps(
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q))));
}

// Eight weights starting at element i of a row, as F32.
RADIXRT_AVX2 inline __m256 load8(dtype t, const void* row, std::size_t i) {
    switch (t) {
    case dtype::f16:
        return _mm256_cvtph_ps(_mm_loadu_si128(
            reinterpret_cast<const __m128i*>(static_cast<const std::uint16_t*>(row) + i)));
    case dtype::bf16: {
        __m128i h = _mm_loadu_si128(
            reinterpret_cast<const __m128i*>(static_cast<const std::uint16_t*>(row) + i));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    default:
        return _mm256_loadu_ps(static_cast<const float*>(row) + i);
    }
}

// Weight sources for the micro-kernel: one row as an F32 tile row, or read
// in place as type T. load(i) gives eight weights from element i (a multiple
// of 8), load4(i, w) thirty-two; Q8_0 scales exactly as dequant_tile does
// (d * q), so both sources yield equal values.
struct tile_source {
    const float* w;
    RADIXRT_AVX2 __m256 load(std::size_t i) const { return _mm256_loadu_ps(w + i); }
    RADIXRT_AVX2 void load4(std::size_t i, __m256* out) const {
        for (int c = 0; c < 4; ++c) {
            out[c] = _mm256_loadu_ps(w + i + 8 * c);
        }
    }
    void tail(std::size_t i, std::size_t k, float* out) const { std::copy(w + i, w + k, out); }
};

template <dtype T> struct row_source {
    const void* row;
    RADIXRT_AVX2 __m256 load(std::size_t i) const { return load8(T, row, i); }
    RADIXRT_AVX2 void load4(std::size_t i, __m256* out) const {
        if constexpr (T == dtype::q8_0) { // i is a block boundary here
            const auto& b = static_cast<const block_q8_0*>(row)[i / q8_0_block];
            const __m256 d = _mm256_set1_ps(_cvtsh_ss(b.d));
            for (int c = 0; c < 4; ++c) {
                out[c] = _mm256_mul_ps(d, q8_load8(b.qs + 8 * c));
            }
        } else {
            for (int c = 0; c < 4; ++c) {
                out[c] = load8(T, row, i + 8 * c);
            }
        }
    }
    void tail(std::size_t i, std::size_t k, float* out) const {
        dequantize_row(T, static_cast<const char*>(row) + row_bytes(T, i), k - i, out);
    }
};

// Converts `rows` weight rows starting at o to F32 in dst (rows, k).
RADIXRT_AVX2 void dequant_tile(const weight_view& w, std::size_t o, std::size_t rows, float* dst) {
    const std::size_t k = w.cols;
    for (std::size_t r = 0; r < rows; ++r) {
        const void* row = w.row(o + r);
        float* d = dst + r * k;
        if (w.type == dtype::q8_0) {
            auto* b = static_cast<const block_q8_0*>(row);
            for (std::size_t j = 0; j < k / q8_0_block; ++j) {
                const __m256 s = _mm256_set1_ps(_cvtsh_ss(b[j].d));
                for (int v = 0; v < 4; ++v) {
                    _mm256_storeu_ps(d + j * q8_0_block + 8 * v,
                                     _mm256_mul_ps(s, q8_load8(b[j].qs + 8 * v)));
                }
            }
            continue;
        }
        std::size_t i = 0;
        for (; i + 8 <= k; i += 8) {
            _mm256_storeu_ps(d + i, load8(w.type, row, i));
        }
        if (i < k) {
            dequantize_row(w.type, static_cast<const char*>(row) + row_bytes(w.type, i), k - i,
                           d + i);
        }
    }
}

// Micro-kernel: R input rows x 1 weight row. Every output is accumulated in
// the same canonical order, whatever R and the weight source: eight-wide
// chunk m of k goes into chain m % 4, the chains are summed as
// (c0 + c1) + (c2 + c3), then the scalar tail is added in order. So a row's
// result never depends on what else is in the batch (batch invariance), and
// the GEMV and GEMM paths agree bit for bit.
template <int R, typename Src>
RADIXRT_AVX2 void micro(const float* x, std::size_t ldy, const Src& src, std::size_t k, float* y) {
    __m256 acc[R][4];
    for (int r = 0; r < R; ++r) {
        for (int c = 0; c < 4; ++c) {
            acc[r][c] = _mm256_setzero_ps();
        }
    }
    std::size_t i = 0;
    for (; i + 32 <= k; i += 32) {
        __m256 wv[4];
        src.load4(i, wv);
        for (int r = 0; r < R; ++r) {
            for (int c = 0; c < 4; ++c) {
                acc[r][c] =
                    _mm256_fmadd_ps(_mm256_loadu_ps(x + r * k + i + 8 * c), wv[c], acc[r][c]);
            }
        }
    }
    for (int c = 0; i + 8 <= k; i += 8, ++c) {
        const __m256 wv = src.load(i);
        for (int r = 0; r < R; ++r) {
            acc[r][c] = _mm256_fmadd_ps(_mm256_loadu_ps(x + r * k + i), wv, acc[r][c]);
        }
    }
    float tw[8];
    if (i < k) {
        src.tail(i, k, tw);
    }
    for (int r = 0; r < R; ++r) {
        float s = hsum(_mm256_add_ps(_mm256_add_ps(acc[r][0], acc[r][1]),
                                     _mm256_add_ps(acc[r][2], acc[r][3])));
        for (std::size_t t = i; t < k; ++t) {
            s += x[r * k + t] * tw[t - i];
        }
        y[r * ldy] = s;
    }
}

template <typename Src>
RADIXRT_AVX2 void micro_rows(const float* x, std::size_t n, std::size_t ldy, const Src& src,
                             std::size_t k, float* y) {
    std::size_t r = 0;
    for (; r + 3 <= n; r += 3) {
        micro<3>(x + r * k, ldy, src, k, y + r * ldy);
    }
    if (n - r == 2) {
        micro<2>(x + r * k, ldy, src, k, y + r * ldy);
    } else if (n - r == 1) {
        micro<1>(x + r * k, ldy, src, k, y + r * ldy);
    }
}

struct aligned_free {
    void operator()(float* p) const { std::free(p); }
};

// Weight rows converted per task; 16 rows of K F32 stay in L2 while every
// block of three input rows streams past them.
constexpr std::size_t tile_rows = 16;

RADIXRT_AVX2 void gemm_range(const float* x, std::size_t n, const weight_view& w, float* y,
                             std::size_t begin, std::size_t end) {
    const std::size_t k = w.cols;
    std::unique_ptr<float, aligned_free> tile(
        static_cast<float*>(std::aligned_alloc(64, (tile_rows * k * 4 + 63) / 64 * 64)));
    for (std::size_t o = begin; o < end; o += tile_rows) {
        const std::size_t rows = std::min(tile_rows, end - o);
        dequant_tile(w, o, rows, tile.get());
        // Blocks of 3 input rows outside, the tile's weight rows inside: the
        // input rows stay in L1 while the tile streams from L2.
        for (std::size_t r0 = 0; r0 < n; r0 += 3) {
            const std::size_t nr = std::min<std::size_t>(3, n - r0);
            for (std::size_t c = 0; c < rows; ++c) {
                micro_rows(x + r0 * k, nr, w.rows, tile_source{tile.get() + c * k}, k,
                           y + r0 * w.rows + o + c);
            }
        }
    }
}

// Few input rows: weights are converted on the fly, each read once.
template <dtype T>
RADIXRT_AVX2 void gemv_typed(const float* x, std::size_t n, const weight_view& w, float* y,
                             std::size_t begin, std::size_t end) {
    for (std::size_t o = begin; o < end; ++o) {
        micro_rows(x, n, w.rows, row_source<T>{w.row(o)}, w.cols, y + o);
    }
}

void gemv_range(const float* x, std::size_t n, const weight_view& w, float* y, std::size_t begin,
                std::size_t end) {
    switch (w.type) {
    case dtype::f32:
        return gemv_typed<dtype::f32>(x, n, w, y, begin, end);
    case dtype::f16:
        return gemv_typed<dtype::f16>(x, n, w, y, begin, end);
    case dtype::bf16:
        return gemv_typed<dtype::bf16>(x, n, w, y, begin, end);
    case dtype::q8_0:
        return gemv_typed<dtype::q8_0>(x, n, w, y, begin, end);
    }
}

} // namespace

void matmul_avx2(const float* x, std::size_t n, const weight_view& w, float* y) {
    const std::size_t k = w.cols;
    if (n <= 3) {
        // ~256 KiB of weights per task.
        const std::size_t grain =
            std::max<std::size_t>(1, (1u << 18) / std::max<std::size_t>(1, row_bytes(w.type, k)));
        parallel_for(0, w.rows, grain,
                     [&](std::size_t b, std::size_t e) { gemv_range(x, n, w, y, b, e); });
        return;
    }
    // Tasks cover whole tiles; the grain keeps ~2M FMAs per task.
    const std::size_t tiles = (w.rows + tile_rows - 1) / tile_rows;
    const std::size_t grain = std::max<std::size_t>(1, (1u << 21) / (tile_rows * k * n));
    parallel_for(0, tiles, grain, [&](std::size_t b, std::size_t e) {
        gemm_range(x, n, w, y, b * tile_rows, std::min(w.rows, e * tile_rows));
    });
}

} // namespace radixrt::kernels::detail

#else
namespace radixrt::kernels::detail {
void matmul_avx2(const float* x, std::size_t n, const weight_view& w, float* y) {
    matmul_portable(x, n, w, y);
}
} // namespace radixrt::kernels::detail
#endif
