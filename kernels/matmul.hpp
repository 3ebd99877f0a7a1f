#pragma once
#include <cstddef>

#include "kernels/dtype.hpp"

namespace radixrt::kernels {

/// A row-major weight matrix W (rows, cols) in one of the GGUF element types;
/// each row occupies row_bytes(type, cols) bytes. Not owning.
struct weight_view {
    dtype type = dtype::f32;
    const void* data = nullptr;
    std::size_t rows = 0; // output features
    std::size_t cols = 0; // input features

    const void* row(std::size_t r) const {
        return static_cast<const char*>(data) + r * row_bytes(type, cols);
    }
};

/// y (n, W.rows) = x (n, W.cols) @ W^T. n = 1..3 takes the GEMV path (weights
/// streamed once, converted on the fly); larger n the tiled GEMM path.
/// Parallel over output features.
void matmul(const float* x, std::size_t n, const weight_view& w, float* y);

namespace detail {
void matmul_portable(const float* x, std::size_t n, const weight_view& w, float* y);
void matmul_avx2(const float* x, std::size_t n, const weight_view& w, float* y);
void matmul_avx512(const float* x, std::size_t n, const weight_view& w, float* y);
} // namespace detail

} // namespace radixrt::kernels
