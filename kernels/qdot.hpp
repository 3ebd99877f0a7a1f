#pragma once
// Integer dot products of quantized weights with quantized activations, as
// llama.cpp computes them: the input of a matmul is quantized per row to
// Q8_0 (for Q4_0, Q5_0, Q8_0 weights), Q8_1 (Q4_1, Q5_1) or Q8_K (the K
// types), then every weight block is multiplied with its activation block
// in integers and scaled once per block. One function per weight type and
// ISA level; the reference is scalar, the others are tested against it.
#include <cstddef>

#include "kernels/cpu.hpp"
#include "kernels/dtype.hpp"

namespace radixrt::kernels {

/// The activation block type of weight type w: 0 Q8_0, 1 Q8_1, 2 Q8_K.
int activation_kind(dtype w);

/// Bytes of one row of n activations quantized for weights of type w.
std::size_t activation_row_bytes(dtype w, std::size_t n);

/// Quantizes n activations (a multiple of block_elems(w)) for weights of
/// type w, as llama.cpp does on x86: Q8_0/Q8_1 with d = max|x| / 127 and
/// q = round-half-even(x * 127 / max|x|); Q8_K with d = max / -127 (the
/// signed value of largest magnitude) and per-16 sums.
/// The same bytes at every ISA level; this one runs at active_isa().
void quantize_activations(dtype w, const float* x, std::size_t n, void* out);
void quantize_activations(dtype w, const float* x, std::size_t n, void* out, isa level);

/// out[r] = sum_i w_i * x_ri over n elements, for one weight row and `rows`
/// (1..qdot_max_rows) quantized activation rows `a_stride` bytes apart. A row's result
/// does not depend on `rows` (the weight is unpacked once for all of them).
using qdot_fn = void (*)(const void* w, const void* a, std::size_t a_stride, std::size_t rows,
                         std::size_t n, float* out);
inline constexpr std::size_t qdot_max_rows = 4;

/// The dot product for weight type w at ISA level i (falls back to the
/// reference where a level has no kernel for w).
qdot_fn qdot_kernel(dtype w, isa i);

/// A tile: qtile_w weight rows `w_stride` bytes apart against qtile_a
/// quantized activation rows `a_stride` bytes apart, out[r * out_stride + j]
/// = the dot of weight row j with activation row r. `prep` holds what
/// qtile_prepare made of the same activation rows, `prep_stride` bytes per
/// row. Every output equals, bit for bit, what qdot_kernel(w, i) gives for
/// that pair, so a matmul may use tiles wherever they fit and row kernels
/// elsewhere and stay batch invariant.
using qtile_fn = void (*)(const void* w, std::size_t w_stride, const void* a, std::size_t a_stride,
                          const void* prep, std::size_t prep_stride, std::size_t n, float* out,
                          std::size_t out_stride);
inline constexpr std::size_t qtile_w = 4, qtile_a = 4;

/// The tile kernel for weight type w at level i, or nullptr where there is
/// none (today: Q8_0 and Q4_0 on AVX-512 CPUs with VNNI).
qtile_fn qtile_kernel(dtype w, isa i);

/// Bytes per activation row of n elements that the tiles of weight type w
/// need besides the quantized row (per-block corrections and scales).
std::size_t qtile_prep_bytes(dtype w, std::size_t n);
/// Fills `rows` rows of that data (`prep_stride` bytes apart) from quantized
/// activation rows `a_stride` bytes apart. Only where qtile_kernel(w, i) is
/// not null.
void qtile_prepare(dtype w, const void* a, std::size_t a_stride, std::size_t rows, std::size_t n,
                   void* prep, std::size_t prep_stride);

namespace detail {
qdot_fn qdot_reference(dtype w);
qdot_fn qdot_avx2(dtype w); // nullptr where there is no AVX2 kernel
void quantize_activations_avx2(dtype w, const float* x, std::size_t n, void* out);
qdot_fn qdot_avx512(dtype w);   // nullptr without VNNI or a kernel for w
qtile_fn qtile_avx512(dtype w); // nullptr without VNNI or a kernel for w
void qtile_prepare_avx512(dtype w, const void* a, std::size_t a_stride, std::size_t rows,
                          std::size_t n, void* prep, std::size_t prep_stride);
} // namespace detail

} // namespace radixrt::kernels
