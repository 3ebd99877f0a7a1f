#include "kernels/ops.hpp"

#include <cmath>

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

void rope(float* x, std::size_t n_heads, std::size_t head_dim, std::size_t rope_dim,
          std::size_t pos, float base, rope_style style, float freq_scale,
          const float* freq_factors) {
    // The angle advances by a constant factor per pair, as ggml computes it,
    // so that float rounding matches llama.cpp.
    const float theta_scale = std::pow(base, -2.0f / float(rope_dim));
    for (std::size_t h = 0; h < n_heads; ++h) {
        float* v = x + h * head_dim;
        float theta = float(pos);
        for (std::size_t i = 0; i < rope_dim / 2; ++i) {
            float t = theta;
            if (freq_factors != nullptr) {
                t /= freq_factors[i];
            }
            t *= freq_scale;
            const float c = std::cos(t);
            const float s = std::sin(t);
            const std::size_t a = style == rope_style::normal ? 2 * i : i;
            const std::size_t b = style == rope_style::normal ? 2 * i + 1 : i + rope_dim / 2;
            const float x0 = v[a];
            const float x1 = v[b];
            v[a] = x0 * c - x1 * s;
            v[b] = x0 * s + x1 * c;
            theta *= theta_scale;
        }
    }
}

void silu_mul(float* gate, const float* up, std::size_t n) {
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
