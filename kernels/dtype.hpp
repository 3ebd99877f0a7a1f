#pragma once
// Weight element types and their scalar conversions. Layouts follow GGUF
// (kernels/quant_blocks.hpp): F16 is IEEE half, BF16 the top 16 bits of an
// F32; the quantized types are blocks of 32 (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0)
// or super-blocks of 256 elements (the K types) with their scales inside.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace radixrt::kernels {

enum class dtype : std::uint8_t {
    f32,
    f16,
    bf16,
    q4_0,
    q4_1,
    q5_0,
    q5_1,
    q8_0,
    q2_k,
    q3_k,
    q4_k,
    q5_k,
    q6_k,
};

inline constexpr dtype all_dtypes[] = {
    dtype::f32,  dtype::f16,  dtype::bf16, dtype::q4_0, dtype::q4_1, dtype::q5_0, dtype::q5_1,
    dtype::q8_0, dtype::q2_k, dtype::q3_k, dtype::q4_k, dtype::q5_k, dtype::q6_k};

inline constexpr std::size_t qk_legacy = 32; // elements per block of Q4_0 ... Q8_0
inline constexpr std::size_t qk_k = 256;     // elements per super-block of the K types
inline constexpr std::size_t q8_0_block = qk_legacy;

std::string_view dtype_name(dtype t);
/// The GGUF / ggml type id (ggml_type) of t, and back (false: not supported).
std::uint32_t ggml_type_of(dtype t);
bool dtype_from_ggml(std::uint32_t ggml_type, dtype& out);

constexpr bool is_quantized(dtype t) {
    return t != dtype::f32 && t != dtype::f16 && t != dtype::bf16;
}

/// Elements per block (1 for the float types).
constexpr std::size_t block_elems(dtype t) {
    switch (t) {
    case dtype::f32:
    case dtype::f16:
    case dtype::bf16:
        return 1;
    case dtype::q4_0:
    case dtype::q4_1:
    case dtype::q5_0:
    case dtype::q5_1:
    case dtype::q8_0:
        return qk_legacy;
    default:
        return qk_k;
    }
}

/// Bytes per block (GGUF's sizes).
constexpr std::size_t block_bytes(dtype t) {
    switch (t) {
    case dtype::f32:
        return 4;
    case dtype::f16:
    case dtype::bf16:
        return 2;
    case dtype::q4_0:
        return 2 + 16;
    case dtype::q4_1:
        return 4 + 16;
    case dtype::q5_0:
        return 2 + 4 + 16;
    case dtype::q5_1:
        return 4 + 4 + 16;
    case dtype::q8_0:
        return 2 + 32;
    case dtype::q2_k:
        return 16 + 64 + 4;
    case dtype::q3_k:
        return 32 + 64 + 12 + 2;
    case dtype::q4_k:
        return 4 + 12 + 128;
    case dtype::q5_k:
        return 4 + 12 + 32 + 128;
    case dtype::q6_k:
        return 128 + 64 + 16 + 2;
    }
    return 0;
}

/// Bytes taken by one row of n elements (n a multiple of block_elems(t)).
constexpr std::size_t row_bytes(dtype t, std::size_t n) {
    return n / block_elems(t) * block_bytes(t);
}
/// Whether a row of n elements is representable in t.
inline bool row_size_ok(dtype t, std::size_t n) {
    return n % block_elems(t) == 0;
}

float f16_to_f32(std::uint16_t h);
std::uint16_t f32_to_f16(float f);

inline float bf16_to_f32(std::uint16_t h) {
    std::uint32_t bits = std::uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}
std::uint16_t f32_to_bf16(float f);

/// Converts one row of n elements of type t to F32 (GGUF's dequantization).
void dequantize_row(dtype t, const void* row, std::size_t n, float* out);
/// Converts n F32 values to type t: rounding to nearest for the float types;
/// for the quantized types the same choices as llama.cpp's reference
/// quantizers (kernels/quantize.hpp), so Q8_0 and Q4_0 rows are byte-identical.
void quantize_row(dtype t, const float* in, std::size_t n, void* row);

} // namespace radixrt::kernels
