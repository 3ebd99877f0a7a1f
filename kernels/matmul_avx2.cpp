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

// Eight weights starting at element i of a row, as F32.
RADIXRT_AVX2 inline __m256 load8(dtype t, const void* row, std::size_t i) {
    switch (t) {
    case dtype::f16:
        return _mm256_cvtph_ps(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const std::uint16_t*>(row) + i)));
    case dtype::bf16: {
        __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const std::uint16_t*>(row) + i));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    default:
        return _mm256_loadu_ps(static_cast<const float*>(row) + i);
    }
}

// Dot products of one weight row with R input rows (R = 1..3): y[r] = W_o . x_r.
template <int R>
RADIXRT_AVX2 void gemv_row(const float* x, std::size_t k, dtype t, const void* row, float* out) {
    __m256 acc[R][2];
    for (int r = 0; r < R; ++r) {
        acc[r][0] = _mm256_setzero_ps();
        acc[r][1] = _mm256_setzero_ps();
    }
    std::size_t i = 0;
    if (t == dtype::q8_0) {
        auto* b = static_cast<const block_q8_0*>(row);
        for (std::size_t j = 0; j < k / q8_0_block; ++j, i += q8_0_block) {
            const __m256 d = _mm256_set1_ps(_cvtsh_ss(b[j].d));
            __m256 q[4];
            for (int v = 0; v < 4; ++v) {
                q[v] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
                    _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b[j].qs + 8 * v))));
            }
            for (int r = 0; r < R; ++r) {
                const float* xr = x + r * k + i;
                __m256 s = _mm256_mul_ps(q[0], _mm256_loadu_ps(xr));
                s = _mm256_fmadd_ps(q[1], _mm256_loadu_ps(xr + 8), s);
                s = _mm256_fmadd_ps(q[2], _mm256_loadu_ps(xr + 16), s);
                s = _mm256_fmadd_ps(q[3], _mm256_loadu_ps(xr + 24), s);
                acc[r][j & 1] = _mm256_fmadd_ps(d, s, acc[r][j & 1]);
            }
        }
    } else {
        for (; i + 16 <= k; i += 16) {
            const __m256 w0 = load8(t, row, i);
            const __m256 w1 = load8(t, row, i + 8);
            for (int r = 0; r < R; ++r) {
                acc[r][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + r * k + i), acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + r * k + i + 8), acc[r][1]);
            }
        }
        for (; i + 8 <= k; i += 8) {
            const __m256 w0 = load8(t, row, i);
            for (int r = 0; r < R; ++r) {
                acc[r][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + r * k + i), acc[r][0]);
            }
        }
    }
    for (int r = 0; r < R; ++r) {
        float s = hsum(_mm256_add_ps(acc[r][0], acc[r][1]));
        for (std::size_t tail = i; tail < k; ++tail) {
            float wv = t == dtype::f16    ? _cvtsh_ss(static_cast<const std::uint16_t*>(row)[tail])
                       : t == dtype::bf16 ? bf16_to_f32(static_cast<const std::uint16_t*>(row)[tail])
                                          : static_cast<const float*>(row)[tail];
            s += wv * x[r * k + tail];
        }
        out[r] = s;
    }
}

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
                    __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
                        _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b[j].qs + 8 * v))));
                    _mm256_storeu_ps(d + j * q8_0_block + 8 * v, _mm256_mul_ps(s, q));
                }
            }
            continue;
        }
        std::size_t i = 0;
        for (; i + 8 <= k; i += 8) {
            _mm256_storeu_ps(d + i, load8(w.type, row, i));
        }
        if (i < k) {
            dequantize_row(w.type, static_cast<const char*>(row) + row_bytes(w.type, i), k - i, d + i);
        }
    }
}

// Micro-kernel: R input rows x C weight rows (F32 tile), R*C accumulators.
template <int R, int C>
RADIXRT_AVX2 void micro(const float* x, std::size_t ldy, const float* wt, std::size_t k, float* y) {
    __m256 acc[R][C];
    for (int r = 0; r < R; ++r) {
        for (int c = 0; c < C; ++c) {
            acc[r][c] = _mm256_setzero_ps();
        }
    }
    std::size_t i = 0;
    for (; i + 8 <= k; i += 8) {
        __m256 wv[C];
        for (int c = 0; c < C; ++c) {
            wv[c] = _mm256_loadu_ps(wt + c * k + i);
        }
        for (int r = 0; r < R; ++r) {
            const __m256 xv = _mm256_loadu_ps(x + r * k + i);
            for (int c = 0; c < C; ++c) {
                acc[r][c] = _mm256_fmadd_ps(xv, wv[c], acc[r][c]);
            }
        }
    }
    for (int r = 0; r < R; ++r) {
        for (int c = 0; c < C; ++c) {
            float s = hsum(acc[r][c]);
            for (std::size_t tail = i; tail < k; ++tail) {
                s += x[r * k + tail] * wt[c * k + tail];
            }
            y[r * ldy + c] = s;
        }
    }
}

template <int C>
RADIXRT_AVX2 void micro_rows(const float* x, std::size_t n, std::size_t ldy, const float* wt,
                             std::size_t k, float* y) {
    std::size_t r = 0;
    for (; r + 3 <= n; r += 3) {
        micro<3, C>(x + r * k, ldy, wt, k, y + r * ldy);
    }
    if (n - r == 2) {
        micro<2, C>(x + r * k, ldy, wt, k, y + r * ldy);
    } else if (n - r == 1) {
        micro<1, C>(x + r * k, ldy, wt, k, y + r * ldy);
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
        // Blocks of 3 input rows outside, 4-row weight sub-tiles inside: the
        // input rows stay in L1 across the sub-tiles.
        for (std::size_t r0 = 0; r0 < n; r0 += 3) {
            const std::size_t nr = std::min<std::size_t>(3, n - r0);
            std::size_t c = 0;
            for (; c + 4 <= rows; c += 4) {
                micro_rows<4>(x + r0 * k, nr, w.rows, tile.get() + c * k, k, y + r0 * w.rows + o + c);
            }
            for (; c < rows; ++c) {
                micro_rows<1>(x + r0 * k, nr, w.rows, tile.get() + c * k, k, y + r0 * w.rows + o + c);
            }
        }
    }
}

RADIXRT_AVX2 void gemv_range(const float* x, std::size_t n, const weight_view& w, float* y,
                             std::size_t begin, std::size_t end) {
    float out[3];
    for (std::size_t o = begin; o < end; ++o) {
        switch (n) {
        case 1:
            gemv_row<1>(x, w.cols, w.type, w.row(o), out);
            break;
        case 2:
            gemv_row<2>(x, w.cols, w.type, w.row(o), out);
            break;
        default:
            gemv_row<3>(x, w.cols, w.type, w.row(o), out);
            break;
        }
        for (std::size_t r = 0; r < n; ++r) {
            y[r * w.rows + o] = out[r];
        }
    }
}

} // namespace

void matmul_avx2(const float* x, std::size_t n, const weight_view& w, float* y) {
    const std::size_t k = w.cols;
    if (n <= 3) {
        // ~256 KiB of weights per task.
        const std::size_t grain = std::max<std::size_t>(1, (1u << 18) / std::max<std::size_t>(1, row_bytes(w.type, k)));
        parallel_for(0, w.rows, grain, [&](std::size_t b, std::size_t e) { gemv_range(x, n, w, y, b, e); });
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
