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
void quantize_activations(dtype w, const float* x, std::size_t n, void* out);

/// out[r] = sum_i w_i * x_ri over n elements, for one weight row and `rows`
/// (1..qdot_max_rows) quantized activation rows `a_stride` bytes apart. A row's result
/// does not depend on `rows` (the weight is unpacked once for all of them).
using qdot_fn = void (*)(const void* w, const void* a, std::size_t a_stride, std::size_t rows,
                         std::size_t n, float* out);
inline constexpr std::size_t qdot_max_rows = 4;

/// The dot product for weight type w at ISA level i (falls back to the
/// reference where a level has no kernel for w).
qdot_fn qdot_kernel(dtype w, isa i);

namespace detail {
qdot_fn qdot_reference(dtype w);
qdot_fn qdot_avx2(dtype w); // nullptr where there is no AVX2 kernel
} // namespace detail

} // namespace radixrt::kernels
