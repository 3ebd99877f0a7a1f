// AVX2 + FMA + F16C instantiation of the attention body
// (kernels/detail/attention_body.hpp): 8 lanes. Headers first, then the
// target pragma (see gemm_avx512.cpp).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/attention_detail.hpp"
#include "kernels/dtype.hpp"

#if defined(__clang__) // clang ignores GCC's target pragma; this is its spelling
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

namespace radixrt::kernels::detail {
namespace {

struct avx2_ops {
    using vec = __m256;
    static constexpr std::size_t width = 8;
    static constexpr std::size_t chains = 2; // chunk c into accumulator c % 2
    static __m256i mask(std::size_t n) {
        return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
    static vec zero() { return _mm256_setzero_ps(); }
    static vec set1(float f) { return _mm256_set1_ps(f); }
    static vec load(const float* p) { return _mm256_loadu_ps(p); }
    static vec load(const std::uint16_t* p) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    }
    static vec load_n(const float* p, std::size_t n) { return _mm256_maskload_ps(p, mask(n)); }
    static vec load_n(const std::uint16_t* p, std::size_t n) {
        std::uint16_t tmp[8] = {};
        std::memcpy(tmp, p, n * sizeof *p);
        return load(tmp);
    }
    static vec load_n_fill(const float* p, std::size_t n, float fill) {
        return _mm256_blendv_ps(set1(fill), load_n(p, n), _mm256_castsi256_ps(mask(n)));
    }
    static void store(float* p, vec v) { _mm256_storeu_ps(p, v); }
    static void store_n(float* p, vec v, std::size_t n) { _mm256_maskstore_ps(p, mask(n), v); }
    static vec fma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
    static vec mul(vec a, vec b) { return _mm256_mul_ps(a, b); }
    static vec add(vec a, vec b) { return _mm256_add_ps(a, b); }
    static vec sub(vec a, vec b) { return _mm256_sub_ps(a, b); }
    static vec max(vec a, vec b) { return _mm256_max_ps(a, b); }
    static float hsum(vec v) { // (v[i] + v[i+4]), then (q0 + q2) + (q1 + q3)
        const __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        const __m128 s = _mm_add_ps(q, _mm_movehl_ps(q, q));
        return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
    }
    static float hmax(vec v) {
        __m128 q = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        q = _mm_max_ps(q, _mm_movehl_ps(q, q));
        return _mm_cvtss_f32(_mm_max_ss(q, _mm_movehdup_ps(q)));
    }
    // e^x in double, rounded once (kernels/detail/exp_double.hpp).
    static __m256d exp_pd(__m256d x) { return exp4_pd(x); }
    static vec exp(vec x) {
        x = _mm256_min_ps(_mm256_max_ps(x, set1(-104.0f)), set1(88.72f));
        const __m128 lo = _mm256_cvtpd_ps(exp_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(x))));
        const __m128 hi = _mm256_cvtpd_ps(exp_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1))));
        return _mm256_set_m128(hi, lo);
    }
    static vec round_h(vec v) {
        return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    // Lane i = the sum of v[i]'s lanes by hsum's tree.
    static vec reduce(const vec* v) {
        __m256 u[4];
        for (int k = 0; k < 4; ++k) { // [v2k lo + hi | v2k+1 lo + hi]
            u[k] = _mm256_add_ps(_mm256_permute2f128_ps(v[2 * k], v[2 * k + 1], 0x20),
                                 _mm256_permute2f128_ps(v[2 * k], v[2 * k + 1], 0x31));
        }
        const __m256 x0 = _mm256_add_ps(_mm256_unpacklo_ps(u[0], u[1]), _mm256_unpackhi_ps(u[0], u[1]));
        const __m256 x1 = _mm256_add_ps(_mm256_unpacklo_ps(u[2], u[3]), _mm256_unpackhi_ps(u[2], u[3]));
        const __m256 y = _mm256_add_ps(_mm256_shuffle_ps(x0, x1, 0x44), _mm256_shuffle_ps(x0, x1, 0xee));
        // lane 4h + i of y holds key 2i + h
        return _mm256_permutevar8x32_ps(y, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    }
};

#include "kernels/detail/attention_body.hpp"

} // namespace

attend_fn attend_avx2() {
    return attend_items<avx2_ops>;
}

} // namespace radixrt::kernels::detail

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
