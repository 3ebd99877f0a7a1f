#pragma once
// Element-wise and row kernels of the Llama forward pass.
#include <cstddef>

namespace radixrt::kernels {

/// out (n) = x / sqrt(mean(x^2) + eps) * w   (sum of squares in double, as ggml)
void rmsnorm(const float* x, const float* w, std::size_t n, float eps, float* out);

/// GGUF `llama` ("normal") rotates adjacent pairs (x[2i], x[2i+1]); NeoX
/// rotates halves (x[i], x[i + d/2]), i.e. rotate_half.
enum class rope_style { normal, neox };

/// Rotates the first rope_dim dims of each head of one token in place:
/// x (n_heads, head_dim); angle_i = freq_scale * pos * base^(-2i/rope_dim)
/// / freq_factors[i] (freq_scale < 1: linear context scaling; freq_factors,
/// rope_dim / 2 values or null: Llama 3.1's per-frequency factors).
void rope(float* x, std::size_t n_heads, std::size_t head_dim, std::size_t rope_dim,
          std::size_t pos, float base, rope_style style, float freq_scale = 1.0f,
          const float* freq_factors = nullptr);

/// rope() in two steps, for tensors that share a position (a token's Q and
/// K heads): the rope_dim / 2 cosines and sines of pos, then the rotation of
/// every head with them. Bit-identical to rope().
void rope_angles(std::size_t rope_dim, std::size_t pos, float base, float freq_scale,
                 const float* freq_factors, float* cos, float* sin);
void rope_rotate(float* x, std::size_t n_heads, std::size_t head_dim, std::size_t rope_dim,
                 rope_style style, const float* cos, const float* sin);

/// gate (n) = silu(gate) * up, silu(g) = g / (1 + e^-g)
void silu_mul(float* gate, const float* up, std::size_t n);

/// gate (n) = gelu(gate) * up with GELU's tanh approximation, as ggml's CPU
/// backend computes it: the input and GELU's value rounded to IEEE half (its
/// lookup table), 0 below -10 and the identity above 10.
void gelu_mul(float* gate, const float* up, std::size_t n);

/// x (n) = cap * tanh(x / cap) (Gemma 2's logit soft-capping)
void softcap(float* x, std::size_t n, float cap);

/// x (n) = exp(x - max) / sum exp(x - max), in place
void softmax(float* x, std::size_t n);

/// The sampler's weights: out[i] = e^d in double, d = x[i] * scale - shift
/// computed in float, and 0 where d < -700 (masked logits are -inf; the
/// weight there is below 1e-304 anyway). Returns the sum of the weights,
/// four partial sums in index order, then (s0 + s1) + (s2 + s3): the same
/// at every ISA level up to e^x's last bits (the AVX2 level evaluates it as
/// silu_mul does, relative error < 1e-14). out may be null: the sum only.
double exp_weights(const float* x, std::size_t n, float scale, float shift, double* out);

/// index of the largest value (the first on ties)
std::size_t argmax(const float* x, std::size_t n);

/// y (n) += x (n)
void add_inplace(float* y, const float* x, std::size_t n);

} // namespace radixrt::kernels
