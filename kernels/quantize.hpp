#pragma once
// The quantized GGUF types: rows to F32 and F32 to rows, as llama.cpp's
// reference code does (dtype.hpp's dequantize_row / quantize_row call these
// for the quantized types).
#include <cstddef>

#include "kernels/dtype.hpp"

namespace radixrt::kernels {

/// n elements (a multiple of block_elems(t)) of a quantized row, to F32.
void dequantize_blocks(dtype t, const void* row, std::size_t n, float* out);
/// n F32 values to blocks of t (llama.cpp's reference quantizer for t).
void quantize_blocks(dtype t, const float* in, std::size_t n, void* row);

} // namespace radixrt::kernels
