#include "kernels/dtype.hpp"

#include <immintrin.h>

#include "kernels/cpu.hpp"
#include "kernels/quantize.hpp"

#include <algorithm>
#include <cmath>

namespace radixrt::kernels {

namespace {

struct type_entry {
    dtype type;
    std::string_view name;
    std::uint32_t ggml; // ggml_type
};

constexpr type_entry type_table[] = {
    {dtype::f32, "f32", 0},    {dtype::f16, "f16", 1},    {dtype::bf16, "bf16", 30},
    {dtype::q4_0, "q4_0", 2},  {dtype::q4_1, "q4_1", 3},  {dtype::q5_0, "q5_0", 6},
    {dtype::q5_1, "q5_1", 7},  {dtype::q8_0, "q8_0", 8},  {dtype::q2_k, "q2_k", 10},
    {dtype::q3_k, "q3_k", 11}, {dtype::q4_k, "q4_k", 12}, {dtype::q5_k, "q5_k", 13},
    {dtype::q6_k, "q6_k", 14},
};

} // namespace

std::string_view dtype_name(dtype t) {
    for (const auto& e : type_table) {
        if (e.type == t) {
            return e.name;
        }
    }
    return "?";
}

std::uint32_t ggml_type_of(dtype t) {
    for (const auto& e : type_table) {
        if (e.type == t) {
            return e.ggml;
        }
    }
    return 0;
}

bool dtype_from_ggml(std::uint32_t ggml_type, dtype& out) {
    for (const auto& e : type_table) {
        if (e.ggml == ggml_type) {
            out = e.type;
            return true;
        }
    }
    return false;
}

float f16_to_f32(std::uint16_t h) {
    // IEEE half: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
    const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    const std::uint32_t exp = (h >> 10) & 0x1fu;
    std::uint32_t mant = h & 0x3ffu;
    std::uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { // subnormal: renormalise
            int e = -1;
            do {
                ++e;
                mant <<= 1;
            } while ((mant & 0x400u) == 0);
            bits = sign | std::uint32_t(127 - 15 - e) << 23 | (mant & 0x3ffu) << 13;
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | mant << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | mant << 13;
    }
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

std::uint16_t f32_to_f16(float f) {
    std::uint32_t x;
    std::memcpy(&x, &f, sizeof x);
    const std::uint16_t sign = std::uint16_t((x >> 16) & 0x8000u);
    const std::uint32_t abs = x & 0x7fffffffu;
    if (abs >= 0x7f800000u) { // inf or nan
        return sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u);
    }
    if (abs >= 0x477ff000u) { // rounds to >= 65520: overflow to inf
        return sign | 0x7c00u;
    }
    if (abs < 0x38800000u) { // below the smallest normal half: subnormal or zero
        float a;
        std::memcpy(&a, &abs, sizeof a);
        // value / 2^-24, rounded to nearest even
        return sign | std::uint16_t(std::nearbyint(a * 16777216.0f));
    }
    // normal: rebias exponent, round mantissa to nearest even
    std::uint32_t r = abs - ((127u - 15u) << 23);
    r += 0xfffu + ((r >> 13) & 1u);
    return sign | std::uint16_t(r >> 13);
}

std::uint16_t f32_to_bf16(float f) {
    std::uint32_t x;
    std::memcpy(&x, &f, sizeof x);
    if ((x & 0x7fffffffu) > 0x7f800000u) {
        return std::uint16_t((x >> 16) | 0x40u); // quiet nan
    }
    x += 0x7fffu + ((x >> 16) & 1u);
    return std::uint16_t(x >> 16);
}

namespace {

// F16C rows: the hardware conversion rounds to nearest even with
// subnormals, as f32_to_f16 does (NaN payloads aside: both give a quiet
// NaN). Every CPU of the AVX2 level has it (kernels/cpu.cpp checks).
__attribute__((target("avx2,f16c"))) void f16_row_f16c(const float* in, std::size_t n,
                                                      std::uint16_t* h) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(h + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; ++i) {
        h[i] = f32_to_f16(in[i]);
    }
}

__attribute__((target("avx2,f16c"))) void f32_row_f16c(const std::uint16_t* h, std::size_t n,
                                                      float* out) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(out + i,
                         _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
    }
    for (; i < n; ++i) {
        out[i] = f16_to_f32(h[i]);
    }
}

} // namespace

void dequantize_row(dtype t, const void* row, std::size_t n, float* out) {
    switch (t) {
    case dtype::f32:
        std::memcpy(out, row, n * 4);
        return;
    case dtype::f16: {
        auto* h = static_cast<const std::uint16_t*>(row);
        if (active_isa() != isa::scalar) {
            f32_row_f16c(h, n, out);
            return;
        }
        for (std::size_t i = 0; i < n; ++i) {
            out[i] = f16_to_f32(h[i]);
        }
        return;
    }
    case dtype::bf16: {
        auto* h = static_cast<const std::uint16_t*>(row);
        for (std::size_t i = 0; i < n; ++i) {
            out[i] = bf16_to_f32(h[i]);
        }
        return;
    }
    default:
        dequantize_blocks(t, row, n, out);
        return;
    }
}

void quantize_row(dtype t, const float* in, std::size_t n, void* row) {
    switch (t) {
    case dtype::f32:
        std::memcpy(row, in, n * 4);
        return;
    case dtype::f16: {
        auto* h = static_cast<std::uint16_t*>(row);
        if (active_isa() != isa::scalar) {
            f16_row_f16c(in, n, h);
            return;
        }
        for (std::size_t i = 0; i < n; ++i) {
            h[i] = f32_to_f16(in[i]);
        }
        return;
    }
    case dtype::bf16: {
        auto* h = static_cast<std::uint16_t*>(row);
        for (std::size_t i = 0; i < n; ++i) {
            h[i] = f32_to_bf16(in[i]);
        }
        return;
    }
    default:
        quantize_blocks(t, in, n, row);
        return;
    }
}

} // namespace radixrt::kernels
