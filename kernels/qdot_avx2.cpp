// AVX2 integer dot products for the hot weight types (Q4_0, Q8_0, Q4_K,
// Q5_K, Q6_K): unsigned-by-signed byte products with maddubs, scaled and
// widened with madd, eight int32 partial sums per block converted once and
// accumulated in an eight-lane float vector (the bodies are in
// kernels/detail/qdot_rows_x86.hpp). Also the activation quantizers, the
// same bytes as the scalar definitions in qdot_ref.cpp. Only entered after
// kernels::active_isa() has checked the CPU (the target pragma below gives
// every function here AVX2 + FMA; headers come first).
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/qdot.hpp"
#include "kernels/quant_blocks.hpp"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

namespace radixrt::kernels {

namespace {

constexpr bool use_vnni = false;
#include "kernels/detail/qdot_rows_x86.hpp"

// ---- activations: the scalar quantizers' arithmetic (qdot_ref.cpp), eight lanes at a time ----

// Lane-wise max then across lanes; max_ps(v, m) keeps m where v is NaN, as
// the scalar loops' comparisons do.
inline float max_abs(const float* x, int n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < n; j += 8) {
        m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)), m);
    }
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

// 32 floats times s, rounded half to even, to 32 int8; NaN products give 0
// (as round_q in qdot_ref.cpp), and the scale keeps every other product
// within [-127, 127] (plus rounding). Clamp caps at 127 first, as the Q8_K
// quantizer does.
template <bool Clamp> inline __m256i round_to_bytes(const float* x, __m256 s) {
    __m256i q[4];
    for (int k = 0; k < 4; ++k) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), s);
        v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));
        q[k] =
            _mm256_cvtps_epi32(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        if constexpr (Clamp) {
            q[k] = _mm256_min_epi32(q[k], _mm256_set1_epi32(127));
        }
    }
    // packs work per 128-bit lane: the four-byte groups come out as q0 q1 q2 q3
    // (low halves), then q0 q1 q2 q3 (high halves); the permute puts them in order
    const __m256i w =
        _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    return _mm256_permutevar8x32_epi32(w, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

inline int sum_bytes(__m256i v, int half) {
    const __m128i b = half == 0 ? _mm256_castsi256_si128(v) : _mm256_extracti128_si256(v, 1);
    const __m256i s = _mm256_madd_epi16(_mm256_cvtepi8_epi16(b), _mm256_set1_epi16(1));
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
    return _mm_cvtsi128_si32(h);
}

template <class B> void quantize_q8_legacy(const float* x, std::size_t nb, B* y) {
    for (std::size_t i = 0; i < nb; ++i, x += 32) {
        const float amax = max_abs(x, 32);
        const float d = amax / 127.f;
        float id = amax != 0.0f ? 127.f / amax : 0.0f;
        id = id == INFINITY ? 0.0f : id;
        y[i].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        const __m256i q = round_to_bytes<false>(x, _mm256_set1_ps(id));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs), q);
        if constexpr (sizeof(B) == sizeof(block_q8_1)) {
            y[i].s =
                _cvtss_sh(d * float(sum_bytes(q, 0) + sum_bytes(q, 1)), _MM_FROUND_TO_NEAREST_INT);
        }
    }
}

void quantize_q8_k(const float* x, std::size_t nb, block_q8_k* y) {
    for (std::size_t i = 0; i < nb; ++i, x += 256) {
        const float amax = max_abs(x, 256);
        // the first element of largest magnitude, with its sign
        int at = 0;
        while (amax != 0 && std::fabs(x[at]) != amax) {
            ++at;
        }
        const float iscale = amax != 0 ? -127.f / x[at] : 0.0f;
        if (amax == 0 || !std::isfinite(iscale)) {
            std::memset(&y[i], 0, sizeof(block_q8_k));
            continue;
        }
        const __m256 s = _mm256_set1_ps(iscale);
        for (int j = 0; j < 256; j += 32) {
            const __m256i q = round_to_bytes<true>(x + j, s);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs + j), q);
            y[i].bsums[j / 16] = std::int16_t(sum_bytes(q, 0));
            y[i].bsums[j / 16 + 1] = std::int16_t(sum_bytes(q, 1));
        }
        y[i].d = 1 / iscale;
    }
}

} // namespace

namespace detail {

qdot_fn qdot_avx2(dtype w) {
    return row_kernel(w);
}

void quantize_activations_avx2(dtype w, const float* x, std::size_t n, void* out) {
    switch (activation_kind(w)) {
    case 0:
        return quantize_q8_legacy(x, n / 32, static_cast<block_q8_0*>(out));
    case 1:
        return quantize_q8_legacy(x, n / 32, static_cast<block_q8_1*>(out));
    default:
        return quantize_q8_k(x, n / 256, static_cast<block_q8_k*>(out));
    }
}

} // namespace detail

} // namespace radixrt::kernels

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
