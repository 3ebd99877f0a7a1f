#pragma once
#include <cstddef>
#include <span>

#include "kernels/cpu.hpp"
#include "kernels/dtype.hpp"

namespace radixrt::kernels {

/// A row-major weight matrix W (rows, cols) in one of the GGUF element types;
/// each row occupies row_bytes(type, cols) bytes. Not owning.
struct weight_view {
    dtype type = dtype::f32;
    const void* data = nullptr;
    std::size_t rows = 0; // output features
    std::size_t cols = 0; // input features
    /// The same matrix as GEMM panels (kernels/gemm.hpp; float types), or
    /// null: then a matmul packs it for the call.
    const void* panels = nullptr;

    const void* row(std::size_t r) const {
        return static_cast<const char*>(data) + r * row_bytes(type, cols);
    }
};

/// y (n, W.rows) = x (n, W.cols) @ W^T. Float weights: the panel GEMM of
/// kernels/gemm.hpp, each output summed over k in order whatever n (one
/// input row streams the weights once, as a GEMV). Quantized weights: the
/// inputs are quantized per row and multiplied in integers
/// (kernels/qdot.hpp), as llama.cpp does. Parallel over output features;
/// batch invariant either way.
void matmul(const float* x, std::size_t n, const weight_view& w, float* y);

/// One weight of a matmul_many: y (n, w.rows) = x @ w^T.
struct matmul_job {
    const weight_view* w;
    float* y;
};

/// Several weights applied to the same input (Q, K and V; gate and up): one
/// parallel loop over all of them (for quantized weights the input quantized
/// once per activation type); each result equals matmul's.
void matmul_many(const float* x, std::size_t n, std::span<const matmul_job> jobs);

namespace detail {
void matmul_quantized(const float* x, std::size_t n, const weight_view& w, float* y, isa level);
void matmul_quantized_many(const float* x, std::size_t n, std::span<const matmul_job> jobs,
                           isa level);
} // namespace detail

} // namespace radixrt::kernels
