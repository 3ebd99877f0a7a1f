#include "kernels/ops.hpp"

#include <cfloat>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cpu.hpp"
#include "tests/kernels/isa_levels.hpp"

namespace rk = radixrt::kernels;

namespace {
std::vector<float> random_vec(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd;
    std::vector<float> v(n);
    for (auto& x : v) {
        x = nd(rng);
    }
    return v;
}
} // namespace

TEST(ops, rmsnorm_normalises_to_unit_rms) {
    for (std::size_t n : {1u, 7u, 64u, 333u}) {
        auto x = random_vec(n, unsigned(n));
        std::vector<float> ones(n, 1.0f), out(n), w = random_vec(n, 99);
        rk::rmsnorm(x.data(), ones.data(), n, 0.0f, out.data());
        double ss = 0;
        for (float v : out) {
            ss += double(v) * v;
        }
        EXPECT_NEAR(ss / double(n), 1.0, 1e-5);
        // The weight scales each element.
        std::vector<float> out_w(n);
        rk::rmsnorm(x.data(), w.data(), n, 0.0f, out_w.data());
        for (std::size_t i = 0; i < n; ++i) {
            EXPECT_NEAR(out_w[i], out[i] * w[i], 1e-5f);
        }
    }
}

TEST(ops, rope_is_a_rotation_matching_the_formula) {
    const std::size_t heads = 3, hd = 8;
    auto x = random_vec(heads * hd, 5);
    for (auto style : {rk::rope_style::normal, rk::rope_style::neox}) {
        auto y = x;
        const std::size_t pos = 17;
        rk::rope(y.data(), heads, hd, hd, pos, 10000.0f, style);
        for (std::size_t h = 0; h < heads; ++h) {
            for (std::size_t i = 0; i < hd / 2; ++i) {
                const std::size_t a = style == rk::rope_style::normal ? 2 * i : i;
                const std::size_t b = style == rk::rope_style::normal ? 2 * i + 1 : i + hd / 2;
                const double th = double(pos) * std::pow(10000.0, -2.0 * double(i) / double(hd));
                const double x0 = x[h * hd + a], x1 = x[h * hd + b];
                EXPECT_NEAR(y[h * hd + a], x0 * std::cos(th) - x1 * std::sin(th), 2e-4);
                EXPECT_NEAR(y[h * hd + b], x0 * std::sin(th) + x1 * std::cos(th), 2e-4);
            }
        }
    }
    // Position 0 is the identity; a partial rope_dim leaves the rest alone.
    auto z = x;
    rk::rope(z.data(), heads, hd, hd, 0, 10000.0f, rk::rope_style::normal);
    EXPECT_EQ(z, x);
    auto p = x;
    rk::rope(p.data(), heads, hd, 4, 9, 10000.0f, rk::rope_style::normal);
    for (std::size_t h = 0; h < heads; ++h) {
        for (std::size_t i = 4; i < hd; ++i) {
            EXPECT_EQ(p[h * hd + i], x[h * hd + i]);
        }
    }
}

TEST(ops, silu_mul_softmax_argmax) {
    auto g = random_vec(13, 1), u = random_vec(13, 2);
    auto out = g;
    rk::silu_mul(out.data(), u.data(), 13);
    for (int i = 0; i < 13; ++i) {
        EXPECT_NEAR(out[i], g[i] / (1 + std::exp(-double(g[i]))) * u[i], 1e-6);
    }
    std::vector<float> s = {1.0f, 2.0f, 3.0f, 1000.0f};
    rk::softmax(s.data(), s.size());
    EXPECT_NEAR(std::accumulate(s.begin(), s.end(), 0.0), 1.0, 1e-6);
    EXPECT_NEAR(s[3], 1.0f, 1e-6);
    std::vector<float> t = {1.0f, 2.0f};
    rk::softmax(t.data(), 2);
    EXPECT_NEAR(t[1], std::exp(2.0) / (std::exp(1.0) + std::exp(2.0)), 1e-6);
    std::vector<float> a = {0.5f, 3.0f, -1.0f, 3.0f};
    EXPECT_EQ(rk::argmax(a.data(), a.size()), 1u);
    EXPECT_EQ(rk::argmax(a.data(), 1), 0u);
}

// The SIMD silu_mul (e^-g in double, rounded once) gives the scalar
// loop's floats: bit for bit nearly always (where libm's expf is correctly
// rounded too), otherwise a few units in the last place apart, over
// the whole range including overflow (g << 0) and saturation (g >> 0).
TEST(ops, silu_mul_at_every_level_equals_the_scalar_loop) {
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> wide(-120.0f, 120.0f), narrow(-8.0f, 8.0f);
    const std::size_t n = 100003; // a tail after the vectors
    std::vector<float> g(n), u(n);
    for (std::size_t i = 0; i < n; ++i) {
        g[i] = i % 2 ? wide(rng) : narrow(rng);
        u[i] = narrow(rng);
    }
    g[0] = 0.0f;
    g[2] = -0.0f;
    g[4] = -100.0f;
    g[6] = 95.0f;
    std::vector<float> want(n);
    for (std::size_t i = 0; i < n; ++i) {
        want[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
    }
    rk::test::isa_guard guard;
    for (auto level : rk::test::supported_levels()) {
        rk::set_isa(level);
        auto got = g;
        rk::silu_mul(got.data(), u.data(), n);
        std::size_t same = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (got[i] == want[i]) {
                ++same;
                continue;
            }
            // One ulp of e^-g moves the quotient and the product by a few ulps.
            ASSERT_LE(std::fabs(got[i] - want[i]), 4.0f * FLT_EPSILON * std::fabs(want[i]))
                << "g=" << g[i] << " got " << got[i] << " want " << want[i] << " "
                << rk::isa_name(level);
        }
        EXPECT_GE(double(same), 0.999 * double(n))
            << same << " of " << n << " " << rk::isa_name(level);
    }
}

TEST(ops, rope_scaling_and_frequency_factors_follow_the_formula) {
    const std::size_t heads = 2, hd = 8;
    auto x = random_vec(heads * hd, 9);
    const float factors[] = {1.0f, 2.0f, 4.0f, 8.0f};
    auto y = x;
    const std::size_t pos = 23;
    rk::rope(y.data(), heads, hd, hd, pos, 500000.0f, rk::rope_style::neox, 0.25f, factors);
    for (std::size_t h = 0; h < heads; ++h) {
        for (std::size_t i = 0; i < hd / 2; ++i) {
            const double th =
                0.25 * double(pos) * std::pow(500000.0, -2.0 * double(i) / double(hd)) / factors[i];
            const double x0 = x[h * hd + i], x1 = x[h * hd + i + hd / 2];
            EXPECT_NEAR(y[h * hd + i], x0 * std::cos(th) - x1 * std::sin(th), 2e-4);
            EXPECT_NEAR(y[h * hd + i + hd / 2], x0 * std::sin(th) + x1 * std::cos(th), 2e-4);
        }
    }
}

TEST(ops, gelu_mul_and_softcap_follow_the_formulas) {
    std::vector<float> g = {-12.0f, -3.0f, -0.5f, 0.0f, 0.001f, 0.7f, 2.5f, 9.9f, 10.0f, 15.0f};
    std::vector<float> u(g.size());
    for (std::size_t i = 0; i < u.size(); ++i) {
        u[i] = 0.5f + float(i);
    }
    auto y = g;
    rk::gelu_mul(y.data(), u.data(), y.size());
    for (std::size_t i = 0; i < g.size(); ++i) {
        const double x = g[i];
        double gelu = 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
        if (x <= -10) {
            gelu = 0; // ggml's clamps
        } else if (x >= 10) {
            gelu = x;
        }
        // within IEEE half precision of the exact value (ggml's table)
        EXPECT_NEAR(y[i], gelu * u[i], 1e-3 * std::abs(gelu * u[i]) + 1e-6) << "x = " << x;
    }
    std::vector<float> s = {-100.0f, -1.0f, 0.0f, 3.0f, 1000.0f};
    auto capped = s;
    rk::softcap(capped.data(), capped.size(), 30.0f);
    for (std::size_t i = 0; i < s.size(); ++i) {
        EXPECT_NEAR(capped[i], 30.0 * std::tanh(s[i] / 30.0), 1e-5);
        EXPECT_LE(std::abs(capped[i]), 30.0f);
    }
}

// The sampler's weights: e^(x * scale - shift) in double against libm's exp
// of the same float exponent, exactly 0 for masked (-inf) and very unlikely
// logits, and the returned sum is the four-lane sum of the weights it wrote
// (lane i % 4 in index order, then (s0 + s1) + (s2 + s3)), at every level,
// on sizes around the vector width.
TEST(ops, exp_weights_match_exp_and_their_sum) {
    rk::test::isa_guard guard;
    std::mt19937 g{11};
    std::normal_distribution<float> d(0.0f, 8.0f);
    for (std::size_t n : {0u, 1u, 3u, 4u, 5u, 31u, 32003u}) {
        std::vector<float> x(n);
        for (auto& v : x) {
            v = d(g);
        }
        if (n > 3) {
            x[1] = -INFINITY;
            x[2] = -5000.0f; // e^-5000 is 0 in double too
        }
        const float scale = 1.0f / 0.7f, shift = n > 0 ? x[0] * scale : 0.0f;
        for (auto level : rk::test::supported_levels()) {
            rk::set_isa(level);
            std::vector<double> w(n, -1.0);
            const double sum = rk::exp_weights(x.data(), n, scale, shift, w.data());
            double lanes[4] = {};
            for (std::size_t i = 0; i < n; ++i) {
                const double e = double(x[i] * scale - shift);
                const double want = e < -700.0 ? 0.0 : std::exp(e);
                if (want == 0.0) {
                    ASSERT_EQ(w[i], 0.0) << i;
                } else {
                    ASSERT_NEAR(w[i], want, 1e-13 * want) << i << " isa " << rk::isa_name(level);
                }
                lanes[i % 4] += w[i];
            }
            EXPECT_EQ(sum, (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) << n;
            EXPECT_EQ(rk::exp_weights(x.data(), n, scale, shift, nullptr), sum) << n;
        }
    }
}
