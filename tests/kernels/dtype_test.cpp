#include "kernels/dtype.hpp"

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cpu.hpp"
#include "kernels/quant_blocks.hpp"
#include "tests/kernels/isa_levels.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace rk = radixrt::kernels;

TEST(dtype, f16_known_values) {
    // Bit patterns from the IEEE 754 binary16 definition.
    EXPECT_EQ(rk::f32_to_f16(1.0f), 0x3c00);
    EXPECT_EQ(rk::f32_to_f16(-2.0f), 0xc000);
    EXPECT_EQ(rk::f32_to_f16(65504.0f), 0x7bff);
    EXPECT_EQ(rk::f32_to_f16(1e6f), 0x7c00);
    EXPECT_EQ(rk::f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);
    EXPECT_EQ(rk::f32_to_f16(0.1f), 0x2e66);
    EXPECT_EQ(rk::f16_to_f32(0x3555), 0.333251953125f);
    EXPECT_EQ(rk::f16_to_f32(0x0001), std::ldexp(1.0f, -24));
    EXPECT_TRUE(std::isinf(rk::f16_to_f32(0xfc00)));
    EXPECT_TRUE(std::isnan(rk::f16_to_f32(0x7e00)));
}

TEST(dtype, f16_round_trip_every_half) {
    for (std::uint32_t h = 0; h < 0x10000; ++h) {
        const float f = rk::f16_to_f32(std::uint16_t(h));
        if (std::isnan(f)) {
            continue;
        }
        ASSERT_EQ(rk::f32_to_f16(f), h) << std::hex << h;
    }
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) static std::uint16_t hw_f32_to_f16(float f) {
    return std::uint16_t(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}

TEST(dtype, f16_rounding_matches_hardware) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2")) {
        GTEST_SKIP() << "no F16C on this CPU";
    }
    std::mt19937 rng(7);
    std::uniform_int_distribution<std::uint32_t> bits;
    for (int i = 0; i < 200000; ++i) {
        std::uint32_t b = bits(rng);
        float f;
        std::memcpy(&f, &b, 4);
        if (std::isnan(f)) {
            continue;
        }
        ASSERT_EQ(rk::f32_to_f16(f), hw_f32_to_f16(f)) << f;
    }
}
#endif

// Rows of F16 (the KV cache, F16 weights) convert element by element as
// f32_to_f16 / f16_to_f32 at every ISA level (the SIMD levels use F16C),
// on lengths with a tail; NaN stays NaN.
TEST(dtype, f16_rows_equal_the_scalar_conversion_at_every_level) {
    std::mt19937 rng(11);
    std::uniform_int_distribution<std::uint32_t> bits;
    for (std::size_t n : {1u, 7u, 8u, 9u, 64u, 1000u}) {
        std::vector<float> in(n);
        for (auto& f : in) {
            const std::uint32_t b = bits(rng) >> (bits(rng) % 2 ? 0 : 4); // some subnormal halves
            std::memcpy(&f, &b, 4);
        }
        std::vector<std::uint16_t> h(n), all_halves(n);
        for (std::size_t i = 0; i < n; ++i) {
            all_halves[i] = std::uint16_t(bits(rng));
        }
        rk::test::isa_guard guard;
        for (auto level : rk::test::supported_levels()) {
            rk::set_isa(level);
            rk::quantize_row(rk::dtype::f16, in.data(), n, h.data());
            std::vector<float> back(n);
            rk::dequantize_row(rk::dtype::f16, all_halves.data(), n, back.data());
            for (std::size_t i = 0; i < n; ++i) {
                if (std::isnan(in[i])) {
                    ASSERT_TRUE(std::isnan(rk::f16_to_f32(h[i])));
                } else {
                    ASSERT_EQ(h[i], rk::f32_to_f16(in[i])) << in[i] << " " << rk::isa_name(level);
                }
                const float want = rk::f16_to_f32(all_halves[i]);
                if (std::isnan(want)) {
                    ASSERT_TRUE(std::isnan(back[i]));
                } else {
                    ASSERT_EQ(back[i], want) << std::hex << all_halves[i];
                }
            }
        }
    }
}

TEST(dtype, bf16_is_upper_half_rounded) {
    EXPECT_EQ(rk::f32_to_bf16(1.0f), 0x3f80);
    EXPECT_EQ(rk::bf16_to_f32(0x3f80), 1.0f);
    // 1 + 2^-8 lies exactly between two bf16 values: ties to even (1.0).
    EXPECT_EQ(rk::f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
    EXPECT_EQ(rk::f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
}

TEST(dtype, q8_0_quantize_bounds_error) {
    std::mt19937 rng(3);
    std::normal_distribution<float> nd;
    std::vector<float> x(96), y(96);
    for (auto& v : x) {
        v = nd(rng);
    }
    std::vector<rk::block_q8_0> q(3);
    rk::quantize_row(rk::dtype::q8_0, x.data(), 96, q.data());
    rk::dequantize_row(rk::dtype::q8_0, q.data(), 96, y.data());
    for (int b = 0; b < 3; ++b) {
        float amax = 0;
        for (int i = 0; i < 32; ++i) {
            amax = std::max(amax, std::fabs(x[b * 32 + i]));
        }
        for (int i = 0; i < 32; ++i) { // error <= half a step (+ scale rounding)
            EXPECT_NEAR(y[b * 32 + i], x[b * 32 + i], amax / 127 * 0.51f + 1e-3f * amax);
        }
    }
    EXPECT_EQ(rk::row_bytes(rk::dtype::q8_0, 96), 102u);
}
