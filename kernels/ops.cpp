#include "kernels/ops.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu.hpp"
#include "kernels/detail/exp_double.hpp"
#include "kernels/dtype.hpp"

namespace radixrt::kernels {

void rmsnorm(const float* x, const float* w, std::size_t n, float eps, float* out) {
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        sum += double(x[i] * x[i]);
    }
    const float scale = 1.0f / std::sqrt(float(sum / double(n)) + eps);
    for (std::size_t i = 0; i < n; ++i) {
        out[i] = x[i] * scale * w[i];
    }
}

void rope_angles(std::size_t rope_dim, std::size_t pos, float base, float freq_scale,
                 const float* freq_factors, float* cos, float* sin) {
    // The angle advances by a constant factor per pair, as ggml computes it,
    // so that float rounding matches llama.cpp.
    const float theta_scale = std::pow(base, -2.0f / float(rope_dim));
    float theta = float(pos);
    for (std::size_t i = 0; i < rope_dim / 2; ++i) {
        float t = theta;
        if (freq_factors != nullptr) {
            t /= freq_factors[i];
        }
        t *= freq_scale;
        cos[i] = std::cos(t);
        sin[i] = std::sin(t);
        theta *= theta_scale;
    }
}

void rope_rotate(float* x, std::size_t n_heads, std::size_t head_dim, std::size_t rope_dim,
                 rope_style style, const float* cos, const float* sin) {
    const std::size_t half = rope_dim / 2;
    for (std::size_t h = 0; h < n_heads; ++h) {
        float* v = x + h * head_dim;
        for (std::size_t i = 0; i < half; ++i) {
            const std::size_t a = style == rope_style::normal ? 2 * i : i;
            const std::size_t b = style == rope_style::normal ? 2 * i + 1 : i + half;
            const float x0 = v[a];
            const float x1 = v[b];
            v[a] = x0 * cos[i] - x1 * sin[i];
            v[b] = x0 * sin[i] + x1 * cos[i];
        }
    }
}

void rope(float* x, std::size_t n_heads, std::size_t head_dim, std::size_t rope_dim,
          std::size_t pos, float base, rope_style style, float freq_scale,
          const float* freq_factors) {
    std::vector<float> c(rope_dim / 2), s(rope_dim / 2);
    rope_angles(rope_dim, pos, base, freq_scale, freq_factors, c.data(), s.data());
    rope_rotate(x, n_heads, head_dim, rope_dim, style, c.data(), s.data());
}

namespace {

// silu_mul eight at a time: e^-g in double rounded to float, then the
// scalar loop's float operations in its order.
__attribute__((target("avx2,fma"))) void silu_mul_avx2(float* gate, const float* up,
                                                       std::size_t n) {
    std::size_t i = 0;
    const __m256d lo = _mm256_set1_pd(-110.0), hi = _mm256_set1_pd(100.0);
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 ng = _mm256_sub_ps(_mm256_setzero_ps(), g);
        const __m256d n0 = _mm256_cvtps_pd(_mm256_castps256_ps128(ng));
        const __m256d n1 = _mm256_cvtps_pd(_mm256_extractf128_ps(ng, 1));
        const __m256d x0 = _mm256_min_pd(_mm256_max_pd(n0, lo), hi);
        const __m256d x1 = _mm256_min_pd(_mm256_max_pd(n1, lo), hi);
        const __m256 e = _mm256_set_m128(_mm256_cvtpd_ps(detail::exp4_pd(x1)),
                                         _mm256_cvtpd_ps(detail::exp4_pd(x0)));
        const __m256 s = _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(s, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; ++i) {
        const float g = gate[i];
        gate[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
}

// Four weights of exp_weights: e^(x * scale - shift), 0 below -700.
__attribute__((target("avx2,fma"))) inline __m256d weights4(__m128 x, __m128 scale, __m128 shift) {
    const __m256d floor = _mm256_set1_pd(-700.0);
    __m128 product = _mm_mul_ps(x, scale);
    __asm__("" : "+x"(product)); // rounded, as the scalar loop rounds it: no fused multiply-sub
    const __m256d e = _mm256_cvtps_pd(_mm_sub_ps(product, shift));
    const __m256d keep = _mm256_cmp_pd(e, floor, _CMP_GE_OQ);
    return _mm256_and_pd(detail::exp4_pd(_mm256_max_pd(e, floor)), keep);
}

__attribute__((target("avx2,fma"))) double exp_weights_avx2(const float* x, std::size_t n,
                                                            float scale, float shift, double* out) {
    const __m128 sc = _mm_set1_ps(scale), sh = _mm_set1_ps(shift);
    __m256d sum = _mm256_setzero_pd();
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m256d w = weights4(_mm_loadu_ps(x + i), sc, sh);
        if (out != nullptr) {
            _mm256_storeu_pd(out + i, w);
        }
        sum = _mm256_add_pd(sum, w);
    }
    if (i < n) { // the rest padded with -inf, whose weights are 0 (adding 0 keeps the sums)
        alignas(16) float in[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
        std::copy(x + i, x + n, in);
        const __m256d w = weights4(_mm_load_ps(in), sc, sh);
        alignas(32) double o[4];
        _mm256_store_pd(o, w);
        if (out != nullptr) {
            std::copy(o, o + (n - i), out + i);
        }
        sum = _mm256_add_pd(sum, w);
    }
    alignas(32) double s[4];
    _mm256_store_pd(s, sum);
    return (s[0] + s[1]) + (s[2] + s[3]);
}

} // namespace

double exp_weights(const float* x, std::size_t n, float scale, float shift, double* out) {
    if (active_isa() != isa::scalar) {
        return exp_weights_avx2(x, n, scale, shift, out);
    }
    double s[4] = {};
    for (std::size_t i = 0; i < n; ++i) {
        const double e = double(x[i] * scale - shift);
        const double w = e >= -700.0 ? std::exp(e) : 0.0;
        if (out != nullptr) {
            out[i] = w;
        }
        s[i % 4] += w;
    }
    return (s[0] + s[1]) + (s[2] + s[3]);
}

void silu_mul(float* gate, const float* up, std::size_t n) {
    if (active_isa() != isa::scalar) {
        silu_mul_avx2(gate, up, n);
        return;
    }
    for (std::size_t i = 0; i < n; ++i) {
        const float g = gate[i];
        gate[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
}

void gelu_mul(float* gate, const float* up, std::size_t n) {
    constexpr float sqrt_2_over_pi = 0.79788456080286535587989211986876f;
    constexpr float coef_a = 0.044715f;
    for (std::size_t i = 0; i < n; ++i) {
        const float g = gate[i];
        float y;
        if (g <= -10.0f) {
            y = 0.0f;
        } else if (g >= 10.0f) {
            y = g;
        } else {
            const float x = f16_to_f32(f32_to_f16(g));
            y = f16_to_f32(f32_to_f16(
                0.5f * x * (1.0f + std::tanh(sqrt_2_over_pi * x * (1.0f + coef_a * x * x)))));
        }
        gate[i] = y * up[i];
    }
}

void softcap(float* x, std::size_t n, float cap) {
    const float inv = 1.0f / cap;
    for (std::size_t i = 0; i < n; ++i) {
        x[i] = std::tanh(x[i] * inv) * cap;
    }
}

void softmax(float* x, std::size_t n) {
    if (n == 0) {
        return;
    }
    float mx = x[0];
    for (std::size_t i = 1; i < n; ++i) {
        mx = x[i] > mx ? x[i] : mx;
    }
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - mx);
        sum += x[i];
    }
    const float inv = float(1.0 / sum);
    for (std::size_t i = 0; i < n; ++i) {
        x[i] *= inv;
    }
}

std::size_t argmax(const float* x, std::size_t n) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < n; ++i) {
        if (x[i] > x[best]) {
            best = i;
        }
    }
    return best;
}

void add_inplace(float* y, const float* x, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        y[i] += x[i];
    }
}

} // namespace radixrt::kernels
