#pragma once
// Scalar reference kernels: the plainest loops that state the maths. Tests
// hold the optimised kernels against these.
#include <cstddef>

#include "kernels/matmul.hpp"

namespace radixrt::kernels::reference {

/// y (n, W.rows) = x (n, W.cols) @ W^T, accumulated in double.
void matmul(const float* x, std::size_t n, const weight_view& w, float* y);

/// Contiguous causal attention of n_q query tokens at positions
/// n_past .. n_past + n_q - 1 over n_past + n_q keys:
/// q (n_q, n_heads, hd), k, v (n_past + n_q, n_kv_heads, hd), out like q.
void attention(const float* q, const float* k, const float* v, std::size_t n_q, std::size_t n_past,
               std::size_t n_heads, std::size_t n_kv_heads, std::size_t hd, float scale,
               float* out);

} // namespace radixrt::kernels::reference
