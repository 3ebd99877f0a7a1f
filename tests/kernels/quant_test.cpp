#include "kernels/qdot.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/matmul.hpp"
#include "kernels/quant_blocks.hpp"
#include "tests/kernels/isa_levels.hpp"

namespace rk = radixrt::kernels;

namespace {

constexpr rk::dtype quantized[] = {
    rk::dtype::q4_0, rk::dtype::q4_1, rk::dtype::q5_0, rk::dtype::q5_1, rk::dtype::q8_0,
    rk::dtype::q2_k, rk::dtype::q3_k, rk::dtype::q4_k, rk::dtype::q5_k, rk::dtype::q6_k};

std::vector<float> random_values(std::size_t n, unsigned seed, float scale = 1.0f) {
    std::mt19937 g(seed);
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) {
        x = d(g);
    }
    return v;
}

std::vector<char> quantize(rk::dtype t, const std::vector<float>& x) {
    std::vector<char> q(rk::row_bytes(t, x.size()));
    rk::quantize_row(t, x.data(), x.size(), q.data());
    return q;
}

std::vector<float> dequantize(rk::dtype t, const std::vector<char>& q, std::size_t n) {
    std::vector<float> x(n);
    rk::dequantize_row(t, q.data(), n, x.data());
    return x;
}

double rms(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    }
    return std::sqrt(s / double(a.size()));
}

// The activations as the dot product sees them: d * q per element.
std::vector<float> dequantize_activations(rk::dtype w, const std::vector<char>& a, std::size_t n) {
    std::vector<float> out(n);
    if (rk::block_elems(w) == rk::qk_k) {
        const auto* b = reinterpret_cast<const rk::block_q8_k*>(a.data());
        for (std::size_t i = 0; i < n; ++i) {
            out[i] = b[i / 256].d * float(b[i / 256].qs[i % 256]);
        }
    } else if (w == rk::dtype::q4_1 || w == rk::dtype::q5_1) {
        const auto* b = reinterpret_cast<const rk::block_q8_1*>(a.data());
        for (std::size_t i = 0; i < n; ++i) {
            out[i] = rk::f16_to_f32(b[i / 32].d) * float(b[i / 32].qs[i % 32]);
        }
    } else {
        const auto* b = reinterpret_cast<const rk::block_q8_0*>(a.data());
        for (std::size_t i = 0; i < n; ++i) {
            out[i] = rk::f16_to_f32(b[i / 32].d) * float(b[i / 32].qs[i % 32]);
        }
    }
    return out;
}

} // namespace

// Round trips lose no more than the format's resolution allows: the error
// relative to the values' scale shrinks with the bits per weight.
TEST(quant, round_trip_error_fits_the_bits) {
    // Unit normal values: about max|x| / levels / sqrt(12) per format, with
    // room; the comparison with llama.cpp's own files is in runtime/quantize_test.
    const std::pair<rk::dtype, double> bound[] = {
        {rk::dtype::q8_0, 0.01}, {rk::dtype::q6_k, 0.03}, {rk::dtype::q5_0, 0.06},
        {rk::dtype::q5_1, 0.06}, {rk::dtype::q5_k, 0.06}, {rk::dtype::q4_0, 0.12},
        {rk::dtype::q4_1, 0.12}, {rk::dtype::q4_k, 0.12}, {rk::dtype::q3_k, 0.25},
        {rk::dtype::q2_k, 0.5},
    };
    const auto x = random_values(4096, 1);
    for (auto [t, b] : bound) {
        const double err = rms(dequantize(t, quantize(t, x), x.size()), x);
        EXPECT_LT(err, b) << rk::dtype_name(t);
        EXPECT_GT(err, 0.0) << rk::dtype_name(t);
    }
    // More bits, less error: the order the formats are meant to have.
    EXPECT_LT(rms(dequantize(rk::dtype::q6_k, quantize(rk::dtype::q6_k, x), 4096), x),
              rms(dequantize(rk::dtype::q5_k, quantize(rk::dtype::q5_k, x), 4096), x));
    EXPECT_LT(rms(dequantize(rk::dtype::q5_k, quantize(rk::dtype::q5_k, x), 4096), x),
              rms(dequantize(rk::dtype::q4_k, quantize(rk::dtype::q4_k, x), 4096), x));
    EXPECT_LT(rms(dequantize(rk::dtype::q3_k, quantize(rk::dtype::q3_k, x), 4096), x),
              rms(dequantize(rk::dtype::q2_k, quantize(rk::dtype::q2_k, x), 4096), x));
}

TEST(quant, zero_rows_and_constant_rows_survive) {
    for (auto t : quantized) {
        const std::vector<float> zero(256, 0.0f), same(256, 0.75f);
        for (float v : dequantize(t, quantize(t, zero), 256)) {
            ASSERT_EQ(v, 0.0f) << rk::dtype_name(t);
        }
        EXPECT_LT(rms(dequantize(t, quantize(t, same), 256), same), 0.05) << rk::dtype_name(t);
    }
}

// The activation rule of llama.cpp's x86 path: d = max|x| / 127, q =
// round-half-to-even(x * 127 / max|x|), per 32.
TEST(quant, q8_0_activations_round_half_to_even) {
    std::vector<float> x(32, 0.0f);
    x[0] = 127.0f; // max|x|: the multiplier is exactly 1
    x[1] = 2.5f;   // a tie: to even, 2 (roundf would give 3)
    x[2] = -3.5f;  // -4
    x[3] = 0.49f;
    std::vector<char> a(rk::activation_row_bytes(rk::dtype::q4_0, 32));
    rk::quantize_activations(rk::dtype::q4_0, x.data(), 32, a.data());
    const auto* b = reinterpret_cast<const rk::block_q8_0*>(a.data());
    EXPECT_EQ(rk::f16_to_f32(b->d), 1.0f);
    EXPECT_EQ(b->qs[0], 127);
    EXPECT_EQ(b->qs[1], 2);
    EXPECT_EQ(b->qs[2], -4);
    EXPECT_EQ(b->qs[3], 0);
}

// The integer dot product equals the float dot product of what the blocks
// mean (dequantized weights times dequantized activations), whatever the
// ISA, to float rounding. (For Q4_1 / Q5_1 the min term uses the sum the
// Q8_1 block stores in F16, d * sum(q), as in llama.cpp.)
TEST(quant, integer_dot_equals_the_dot_of_dequantized_values) {
    rk::test::isa_guard guard;
    for (auto t : quantized) {
        for (std::size_t n : {256u, 512u, 768u, 2816u}) {
            const auto wf = random_values(n, unsigned(n) + 7, 0.5f);
            const auto xf = random_values(n, unsigned(n) + 8, 2.0f);
            const auto wq = quantize(t, wf);
            std::vector<char> a(rk::activation_row_bytes(t, n));
            rk::quantize_activations(t, xf.data(), n, a.data());
            const auto wd = dequantize(t, wq, n);
            const auto ad = dequantize_activations(t, a, n);
            double want = 0, mag = 0;
            for (std::size_t i = 0; i < n; ++i) {
                want += double(wd[i]) * ad[i];
                mag += std::fabs(double(wd[i]) * ad[i]);
            }
            if (t == rk::dtype::q4_1 || t == rk::dtype::q5_1) {
                // replace m * sum(d_a q_a) by m * s (the stored F16 sum)
                const auto* ab = reinterpret_cast<const rk::block_q8_1*>(a.data());
                for (std::size_t b = 0; b < n / 32; ++b) {
                    std::uint16_t m;
                    std::memcpy(&m, wq.data() + b * rk::block_bytes(t) + 2, 2); // d, then m
                    double exact = 0;
                    for (std::size_t i = 0; i < 32; ++i) {
                        exact += ad[32 * b + i];
                    }
                    want += rk::f16_to_f32(m) * (rk::f16_to_f32(ab[b].s) - exact);
                }
            }
            for (auto level : rk::test::supported_levels()) {
                float got;
                rk::qdot_kernel(t, level)(wq.data(), a.data(), 0, 1, n, &got);
                EXPECT_NEAR(got, want, 1e-5 * mag + 1e-6)
                    << rk::dtype_name(t) << " n=" << n << " isa " << rk::isa_name(level);
                // The same row among others (1..8 rows): bit for bit the same.
                const std::size_t ab = rk::activation_row_bytes(t, n);
                std::vector<char> many(rk::qdot_max_rows * ab);
                for (std::size_t r = 0; r < rk::qdot_max_rows; ++r) {
                    std::copy(a.begin(), a.end(), many.begin() + r * std::ptrdiff_t(ab));
                }
                for (std::size_t rows = 1; rows <= rk::qdot_max_rows; ++rows) {
                    float out[rk::qdot_max_rows];
                    rk::qdot_kernel(t, level)(wq.data(), many.data(), ab, rows, n, out);
                    for (std::size_t r = 0; r < rows; ++r) {
                        ASSERT_EQ(out[r], got) << rk::dtype_name(t) << " rows=" << rows;
                    }
                }
            }
        }
    }
}

// A quantized matmul: every ISA level agrees with the scalar level to float
// rounding, on odd row counts and batch sizes, and stays close to the
// float product (the activation rounding is the only loss).
TEST(quant, matmul_every_level_on_odd_shapes) {
    rk::test::isa_guard guard;
    for (auto t : quantized) {
        for (std::size_t cols : {256u, 768u}) {
            for (std::size_t rows : {1u, 17u, 33u}) {
                for (std::size_t n : {1u, 3u, 7u}) {
                    const auto wf = random_values(rows * cols, unsigned(rows + cols), 0.5f);
                    std::vector<char> wq(rows * rk::row_bytes(t, cols));
                    for (std::size_t r = 0; r < rows; ++r) {
                        rk::quantize_row(t, wf.data() + r * cols, cols,
                                         wq.data() + r * rk::row_bytes(t, cols));
                    }
                    const auto x = random_values(n * cols, unsigned(n + 3));
                    const rk::weight_view w{t, wq.data(), rows, cols};
                    rk::set_isa(rk::isa::scalar);
                    std::vector<float> ref(n * rows);
                    rk::matmul(x.data(), n, w, ref.data());
                    for (auto level : rk::test::supported_levels()) {
                        rk::set_isa(level);
                        std::vector<float> got(n * rows);
                        rk::matmul(x.data(), n, w, got.data());
                        for (std::size_t i = 0; i < got.size(); ++i) {
                            ASSERT_NEAR(got[i], ref[i], 1e-4 * std::sqrt(double(cols)))
                                << rk::dtype_name(t) << " " << rows << "x" << cols << " n=" << n;
                        }
                    }
                    // Against the float product of the dequantized weights.
                    std::vector<float> wd(rows * cols);
                    for (std::size_t r = 0; r < rows; ++r) {
                        rk::dequantize_row(t, wq.data() + r * rk::row_bytes(t, cols), cols,
                                           wd.data() + r * cols);
                    }
                    for (std::size_t r = 0; r < n; ++r) {
                        for (std::size_t o = 0; o < rows; ++o) {
                            double dot = 0, mag = 0;
                            for (std::size_t i = 0; i < cols; ++i) {
                                dot += double(x[r * cols + i]) * wd[o * cols + i];
                                mag += std::fabs(double(x[r * cols + i]) * wd[o * cols + i]);
                            }
                            // Q8 activations: at most half a step of 1/127 of the block max each.
                            ASSERT_NEAR(ref[r * rows + o], dot, 0.02 * mag) << rk::dtype_name(t);
                        }
                    }
                }
            }
        }
    }
}

// A tile of weight rows against activation rows gives every pair the same
// float, bit for bit, as the row kernel of the same level: that is what lets
// matmul mix tiles and rows and stay batch invariant. Weights and activations
// are raw random bytes (Q8_0 weights cover -128, Q4_0 every nibble;
// activations -127..127, all the quantizers write), every row padded so that
// the weight, activation and prep strides all differ from the row sizes.
TEST(quant, tiles_equal_the_row_kernel_bit_for_bit) {
    bool any = false;
    for (auto t : {rk::dtype::q8_0, rk::dtype::q4_0}) {
        for (auto level : rk::test::supported_levels()) {
            const rk::qtile_fn tile = rk::qtile_kernel(t, level);
            if (tile == nullptr) {
                continue;
            }
            any = true;
            for (std::size_t n : {32u, 96u, 256u, 768u, 2816u}) {
                std::mt19937 g{unsigned(n)};
                const std::size_t wb = rk::row_bytes(t, n) + 16;
                const std::size_t ab = rk::activation_row_bytes(t, n) + 48;
                const std::size_t pb = rk::qtile_prep_bytes(t, n) + 64;
                // a finite scale, F16 0.001..0.06, then raw weights or activations
                const auto fill = [&](unsigned char* block, std::size_t bytes, bool activation) {
                    const std::uint16_t d = std::uint16_t(0x1400 + g() % 0x1000);
                    std::memcpy(block, &d, 2);
                    for (std::size_t i = 2; i < bytes; ++i) {
                        block[i] = activation ? static_cast<unsigned char>(int(g() % 255) - 127)
                                              : static_cast<unsigned char>(g());
                    }
                };
                std::vector<unsigned char> w(rk::qtile_w * wb), a(rk::qtile_a * ab);
                for (std::size_t r = 0; r < rk::qtile_w; ++r) {
                    for (std::size_t i = 0; i < n / 32; ++i) {
                        fill(w.data() + r * wb + i * rk::block_bytes(t), rk::block_bytes(t), false);
                    }
                }
                for (std::size_t r = 0; r < rk::qtile_a; ++r) {
                    for (std::size_t i = 0; i < n / 32; ++i) {
                        fill(a.data() + r * ab + i * sizeof(rk::block_q8_0), sizeof(rk::block_q8_0),
                             true);
                    }
                }
                std::vector<unsigned char> prep(rk::qtile_a * pb);
                rk::qtile_prepare(t, a.data(), ab, rk::qtile_a, n, prep.data(), pb);
                const std::size_t out_stride = rk::qtile_w + 3;
                std::vector<float> got(rk::qtile_a * out_stride, -1.0f);
                tile(w.data(), wb, a.data(), ab, prep.data(), pb, n, got.data(), out_stride);
                for (std::size_t r = 0; r < rk::qtile_a; ++r) {
                    for (std::size_t j = 0; j < rk::qtile_w; ++j) {
                        float want;
                        rk::qdot_kernel(t, level)(w.data() + j * wb, a.data() + r * ab, 0, 1, n,
                                                  &want);
                        ASSERT_EQ(got[r * out_stride + j], want)
                            << rk::dtype_name(t) << " n=" << n << " row " << r << " weight " << j;
                    }
                    for (std::size_t j = rk::qtile_w; j < out_stride; ++j) {
                        ASSERT_EQ(got[r * out_stride + j], -1.0f) << "wrote past the tile";
                    }
                }
            }
        }
    }
    if (!any) {
        GTEST_SKIP() << "no tile kernel on this CPU";
    }
}

// The activation quantizer writes the same bytes at every level as at the
// scalar level (its definition): random rows, rows whose scaled values fall
// exactly on halves (amax 127, so the scale is 1 and ties must go to even),
// zeros, a lone large value of either sign, equal magnitudes of both signs
// (Q8_K takes the first), NaN and infinite elements (the max skips NaN, NaN
// quantizes to 0), and blocks too small for the scale 127 / max (all zeros).
// No level writes -128, which the row kernels' sign trick cannot negate.
TEST(quant, activations_are_the_same_bytes_at_every_level) {
    std::vector<std::vector<float>> rows;
    for (unsigned seed = 0; seed < 4; ++seed) {
        rows.push_back(random_values(768, seed + 100, seed + 0.5f));
    }
    std::vector<float> halves(768), zeros(768, 0.0f), lone(768, 0.001f), both(768, 0.5f);
    for (std::size_t i = 0; i < halves.size(); ++i) {
        halves[i] = i % 32 == 0 ? 127.0f : float(int(i % 61) - 30) + 0.5f;
    }
    lone[37] = -9.0f;
    lone[300] = 9.0f;
    both[5] = 4.0f;
    both[6] = -4.0f;
    both[260] = -4.0f;
    both[261] = 4.0f;
    auto odd = random_values(768, 7, 2.0f); // NaN, inf and tiny blocks among normal ones
    odd[3] = NAN;
    odd[40] = -NAN;
    odd[41] = INFINITY;
    odd[300] = -INFINITY;
    for (std::size_t i = 512; i < 768; ++i) {
        odd[i] = i < 544 ? 1e-37f * float(int(i % 7) - 3) : (i < 576 ? 1e-40f : odd[i]);
    }
    auto nan_only = random_values(768, 8);
    for (std::size_t i = 256; i < 512; ++i) {
        nan_only[i] = NAN;
    }
    rows.insert(rows.end(), {odd, nan_only});
    rows.insert(rows.end(), {halves, zeros, lone, both});
    for (auto t : {rk::dtype::q8_0, rk::dtype::q4_1, rk::dtype::q4_k}) {
        for (const auto& x : rows) {
            std::vector<char> want(rk::activation_row_bytes(t, x.size()));
            rk::quantize_activations(t, x.data(), x.size(), want.data(), rk::isa::scalar);
            if (t == rk::dtype::q8_0) {
                for (std::size_t b = 0; b < x.size() / 32; ++b) {
                    for (std::size_t i = 0; i < 32; ++i) {
                        ASSERT_NE(want[b * sizeof(rk::block_q8_0) + 2 + i], char(-128));
                    }
                }
            }
            for (auto level : rk::test::supported_levels()) {
                std::vector<char> got(want.size(), 0x55);
                rk::quantize_activations(t, x.data(), x.size(), got.data(), level);
                const auto diff = std::mismatch(got.begin(), got.end(), want.begin());
                ASSERT_TRUE(diff.first == got.end())
                    << rk::dtype_name(t) << " isa " << rk::isa_name(level) << " row starting "
                    << x[0] << ": byte " << (diff.first - got.begin()) << " differs";
            }
        }
    }
}

// The AVX-512 level's row kernels fuse the AVX2 kernels' byte products with
// VNNI; their int32 sums are exact either way, so every float is the same.
TEST(quant, vnni_rows_equal_the_avx2_rows_bit_for_bit) {
    if (!rk::isa_supported(rk::isa::avx512) ||
        rk::qdot_kernel(rk::dtype::q8_0, rk::isa::avx512) ==
            rk::qdot_kernel(rk::dtype::q8_0, rk::isa::avx2)) {
        GTEST_SKIP() << "no VNNI row kernels on this CPU";
    }
    for (auto t : quantized) {
        for (std::size_t n : {256u, 768u, 2816u}) {
            const auto wq = quantize(t, random_values(n, unsigned(n) + 1, 0.5f));
            const std::size_t ab = rk::activation_row_bytes(t, n);
            std::vector<char> a(rk::qdot_max_rows * ab);
            for (std::size_t r = 0; r < rk::qdot_max_rows; ++r) {
                const auto x = random_values(n, unsigned(n + r) + 2, 3.0f);
                rk::quantize_activations(t, x.data(), n, a.data() + r * ab);
            }
            // Q8_0 / Q4_0 again on raw bytes: every weight byte, activations -127..127.
            std::vector<char> wr = wq;
            std::vector<char> ar = a;
            if (t == rk::dtype::q8_0 || t == rk::dtype::q4_0) {
                std::mt19937 g{unsigned(n)};
                for (std::size_t i = 0; i < wr.size(); i += rk::block_bytes(t)) {
                    for (std::size_t j = 2; j < rk::block_bytes(t); ++j) {
                        wr[i + j] = static_cast<char>(g());
                    }
                }
                for (std::size_t i = 0; i < ar.size(); i += sizeof(rk::block_q8_0)) {
                    for (std::size_t j = 2; j < sizeof(rk::block_q8_0); ++j) {
                        ar[i + j] = static_cast<char>(int(g() % 255) - 127);
                    }
                }
            }
            const std::vector<char>* inputs[] = {&wq, &wr};
            for (const auto* in : inputs) {
                const auto* act = in == &wq ? &a : &ar;
                for (std::size_t rows = 1; rows <= rk::qdot_max_rows; ++rows) {
                    float want[rk::qdot_max_rows], got[rk::qdot_max_rows];
                    rk::qdot_kernel(t, rk::isa::avx2)(in->data(), act->data(), ab, rows, n, want);
                    rk::qdot_kernel(t, rk::isa::avx512)(in->data(), act->data(), ab, rows, n, got);
                    for (std::size_t r = 0; r < rows; ++r) {
                        ASSERT_EQ(got[r], want[r])
                            << rk::dtype_name(t) << " n=" << n << " rows=" << rows;
                    }
                }
            }
        }
    }
}
