#pragma once
// Weight element types and their scalar conversions. Layouts follow GGUF:
// F16 is IEEE half, BF16 the top 16 bits of an F32, Q8_0 blocks of 32
// int8 values sharing one F16 scale.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace radixrt::kernels {

enum class dtype : std::uint8_t { f32, f16, bf16, q8_0 };

inline constexpr std::size_t q8_0_block = 32;

/// GGUF's block_q8_0: value i = d * qs[i].
struct block_q8_0 {
    std::uint16_t d; // F16 scale
    std::int8_t qs[q8_0_block];
};
static_assert(sizeof(block_q8_0) == 34);

std::string_view dtype_name(dtype t);

/// Bytes taken by one row of n elements (n must be a multiple of 32 for Q8_0).
constexpr std::size_t row_bytes(dtype t, std::size_t n) {
    switch (t) {
    case dtype::f32:
        return n * 4;
    case dtype::f16:
    case dtype::bf16:
        return n * 2;
    case dtype::q8_0:
        return n / q8_0_block * sizeof(block_q8_0);
    }
    return 0;
}
/// Whether a row of n elements is representable in t.
bool row_size_ok(dtype t, std::size_t n);

float f16_to_f32(std::uint16_t h);
std::uint16_t f32_to_f16(float f);

inline float bf16_to_f32(std::uint16_t h) {
    std::uint32_t bits = std::uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}
std::uint16_t f32_to_bf16(float f);

/// Converts one row of n elements of type t to F32.
void dequantize_row(dtype t, const void* row, std::size_t n, float* out);
/// Converts n F32 values to type t (rounding to nearest; Q8_0 uses
/// d = max|x| / 127 per block, as GGUF writers do).
void quantize_row(dtype t, const float* in, std::size_t n, void* row);

} // namespace radixrt::kernels
