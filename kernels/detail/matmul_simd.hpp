// The SIMD body of matmul, generic over a vector-ops struct S. Included by
// matmul_avx2.cpp and matmul_avx512.cpp after their `#pragma GCC target`,
// inside an anonymous namespace, so each gets its own instantiation for its
// ISA. No #pragma once and no includes: the including file provides both.
//
// S provides: vec, width W, max_rows (input rows per micro tile), zero(),
// loadu(), storeu(), fmadd(a, b, c) = a * b + c, add(), mul(), set1(),
// hsum4(a, b, c, d, out) (the lane sums of four vectors, each by a fixed tree
// that does not depend on the other three), and
// f16(), bf16() converting W elements to F32.

// W weights of a row from element i (a multiple of W), as F32 (the float
// types only: quantized weights take the integer path, kernels/qdot.hpp).
template <class S, dtype T> inline typename S::vec load_w(const void* row, std::size_t i) {
    if constexpr (T == dtype::f32) {
        return S::loadu(static_cast<const float*>(row) + i);
    } else if constexpr (T == dtype::f16) {
        return S::f16(static_cast<const std::uint16_t*>(row) + i);
    } else {
        static_assert(T == dtype::bf16);
        return S::bf16(static_cast<const std::uint16_t*>(row) + i);
    }
}

// Weight sources: a row of an F32 tile, or a row of type T read in place.
template <class S> struct tile_source {
    const float* w;
    typename S::vec load(std::size_t i) const { return S::loadu(w + i); }
    void tail(std::size_t i, std::size_t k, float* out) const { std::copy(w + i, w + k, out); }
};

template <class S, dtype T> struct row_source {
    const void* row;
    typename S::vec load(std::size_t i) const { return load_w<S, T>(row, i); }
    void tail(std::size_t i, std::size_t k, float* out) const {
        dequantize_row(T, static_cast<const char*>(row) + row_bytes(T, i), k - i, out);
    }
};

// R input rows x 1 weight row. Every output is summed in one canonical order
// whatever R and the source: W-wide chunk m of k goes into chain m % 4, the
// chains are added as (c0 + c1) + (c2 + c3), reduced by hsum4, then the
// scalar tail is added in order. So a row's result never depends on the rest
// of the batch (batch invariance) and the GEMV and GEMM paths agree bit for
// bit.
template <class S, int R, class Src>
void micro(const float* x, std::size_t ldy, const Src& src, std::size_t k, float* y) {
    constexpr std::size_t W = S::width;
    typename S::vec acc[R][4];
    for (int r = 0; r < R; ++r) {
        for (int m = 0; m < 4; ++m) {
            acc[r][m] = S::zero();
        }
    }
    std::size_t i = 0;
    for (; i + 4 * W <= k; i += 4 * W) {
        typename S::vec wv[4];
        for (int m = 0; m < 4; ++m) {
            wv[m] = src.load(i + m * W);
        }
        for (int r = 0; r < R; ++r) {
            for (int m = 0; m < 4; ++m) {
                acc[r][m] = S::fmadd(S::loadu(x + r * k + i + m * W), wv[m], acc[r][m]);
            }
        }
    }
    for (int m = 0; i + W <= k; i += W, ++m) {
        const auto wv = src.load(i);
        for (int r = 0; r < R; ++r) {
            acc[r][m] = S::fmadd(S::loadu(x + r * k + i), wv, acc[r][m]);
        }
    }
    // Reduce four outputs per hsum4 (each output's tree is the same whatever
    // its neighbours, so padding with copies changes nothing).
    constexpr int R4 = (R + 3) / 4 * 4;
    typename S::vec v[R4];
    for (int r = 0; r < R4; ++r) {
        const int q = r < R ? r : 0;
        v[r] = S::add(S::add(acc[q][0], acc[q][1]), S::add(acc[q][2], acc[q][3]));
    }
    float sums[R4];
    for (int r = 0; r < R4; r += 4) {
        S::hsum4(v[r], v[r + 1], v[r + 2], v[r + 3], sums + r);
    }
    float tw[S::width];
    if (i < k) {
        src.tail(i, k, tw);
    }
    for (int r = 0; r < R; ++r) {
        float s = sums[r];
        for (std::size_t t = i; t < k; ++t) {
            s += x[r * k + t] * tw[t - i];
        }
        y[r * ldy] = s;
    }
}

// Any n input rows against one weight row, in tiles of up to S::max_rows.
template <class S, int R, class Src>
void micro_rest(std::size_t rem, const float* x, std::size_t ldy, const Src& src, std::size_t k,
                float* y) {
    if (rem == R) {
        micro<S, R>(x, ldy, src, k, y);
    } else if constexpr (R > 1) {
        micro_rest<S, R - 1>(rem, x, ldy, src, k, y);
    }
}

template <class S, class Src>
void micro_rows(const float* x, std::size_t n, std::size_t ldy, const Src& src, std::size_t k,
                float* y) {
    constexpr std::size_t R = S::max_rows;
    std::size_t r = 0;
    for (; r + R <= n; r += R) {
        micro<S, int(R)>(x + r * k, ldy, src, k, y + r * ldy);
    }
    if (r < n) {
        micro_rest<S, int(R) - 1>(n - r, x + r * k, ldy, src, k, y + r * ldy);
    }
}

// Converts `rows` weight rows starting at o to F32 in dst (rows, k).
template <class S, dtype T>
void dequant_rows(const weight_view& w, std::size_t o, std::size_t rows, float* dst) {
    constexpr std::size_t W = S::width;
    const std::size_t k = w.cols;
    for (std::size_t r = 0; r < rows; ++r) {
        const void* row = w.row(o + r);
        std::size_t i = 0;
        for (; i + W <= k; i += W) {
            S::storeu(dst + r * k + i, load_w<S, T>(row, i));
        }
        if (i < k) {
            dequantize_row(T, static_cast<const char*>(row) + row_bytes(T, i), k - i,
                           dst + r * k + i);
        }
    }
}

// Weight rows converted per task; 16 rows of K F32 stay in L2 while every
// tile of input rows streams past them.
constexpr std::size_t tile_rows = 16;

struct free_deleter {
    void operator()(float* p) const { std::free(p); }
};

template <class S, dtype T>
void gemm_range(const float* x, std::size_t n, const weight_view& w, float* y, std::size_t begin,
                std::size_t end) {
    const std::size_t k = w.cols;
    std::unique_ptr<float, free_deleter> tile(
        static_cast<float*>(std::aligned_alloc(64, (tile_rows * k * 4 + 63) / 64 * 64)));
    for (std::size_t o = begin; o < end; o += tile_rows) {
        const std::size_t rows = std::min(tile_rows, end - o);
        dequant_rows<S, T>(w, o, rows, tile.get());
        // Input-row tiles outside, the weight rows inside: the input rows
        // stay in L1 while the converted weights stream from L2.
        for (std::size_t r0 = 0; r0 < n; r0 += S::max_rows) {
            const std::size_t nr = std::min<std::size_t>(S::max_rows, n - r0);
            for (std::size_t c = 0; c < rows; ++c) {
                micro_rows<S>(x + r0 * k, nr, w.rows, tile_source<S>{tile.get() + c * k}, k,
                              y + r0 * w.rows + o + c);
            }
        }
    }
}

// Few input rows: weights are converted on the fly, each read once.
template <class S, dtype T>
void gemv_range(const float* x, std::size_t n, const weight_view& w, float* y, std::size_t begin,
                std::size_t end) {
    for (std::size_t o = begin; o < end; ++o) {
        micro_rows<S>(x, n, w.rows, row_source<S, T>{w.row(o)}, w.cols, y + o);
    }
}

template <class S, dtype T>
void matmul_typed(const float* x, std::size_t n, const weight_view& w, float* y) {
    const std::size_t k = w.cols;
    if (n <= 3) {
        // ~256 KiB of weights per task.
        const std::size_t grain =
            std::max<std::size_t>(1, (1u << 18) / std::max<std::size_t>(1, row_bytes(T, k)));
        parallel_for(0, w.rows, grain,
                     [&](std::size_t b, std::size_t e) { gemv_range<S, T>(x, n, w, y, b, e); });
        return;
    }
    // Tasks cover whole tiles; the grain keeps ~2M FMAs per task.
    const std::size_t tiles = (w.rows + tile_rows - 1) / tile_rows;
    const std::size_t grain = std::max<std::size_t>(1, (1u << 21) / (tile_rows * k * n));
    parallel_for(0, tiles, grain, [&](std::size_t b, std::size_t e) {
        gemm_range<S, T>(x, n, w, y, b * tile_rows, std::min(w.rows, e * tile_rows));
    });
}

template <class S> void matmul_simd(const float* x, std::size_t n, const weight_view& w, float* y) {
    switch (w.type) {
    case dtype::f32:
        return matmul_typed<S, dtype::f32>(x, n, w, y);
    case dtype::f16:
        return matmul_typed<S, dtype::f16>(x, n, w, y);
    case dtype::bf16:
        return matmul_typed<S, dtype::bf16>(x, n, w, y);
    default: // the quantized types take matmul_quantized
        return;
    }
}
