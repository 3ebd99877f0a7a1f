// AVX-512 instantiation of the attention body (kernels/detail/attention_body.hpp):
// 16 lanes, a Cephes-style exp, F16C conversions. Headers first, then the
// target pragma (see gemm_avx512.cpp).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/attention_detail.hpp"
#include "kernels/dtype.hpp"

#if defined(__clang__) // clang ignores GCC's target pragma; this is its spelling
#pragma clang attribute push(                                                                      \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c"))),                   \
    apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")
#endif
#pragma GCC diagnostic push
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace radixrt::kernels::detail {
namespace {

struct avx512_ops {
    using vec = __m512;
    static constexpr std::size_t width = 16;
    static constexpr std::size_t chains = 1;
    static __mmask16 mask(std::size_t n) { return __mmask16((1u << n) - 1u); }
    static vec zero() { return _mm512_setzero_ps(); }
    static vec set1(float f) { return _mm512_set1_ps(f); }
    static vec load(const float* p) { return _mm512_loadu_ps(p); }
    static vec load(const std::uint16_t* p) {
        return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    }
    static vec load_n(const float* p, std::size_t n) { return _mm512_maskz_loadu_ps(mask(n), p); }
    static vec load_n(const std::uint16_t* p, std::size_t n) {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask(n), p));
    }
    static vec load_n_fill(const float* p, std::size_t n, float fill) {
        return _mm512_mask_loadu_ps(set1(fill), mask(n), p);
    }
    static void store(float* p, vec v) { _mm512_storeu_ps(p, v); }
    static void store_n(float* p, vec v, std::size_t n) { _mm512_mask_storeu_ps(p, mask(n), v); }
    static vec fma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
    static vec mul(vec a, vec b) { return _mm512_mul_ps(a, b); }
    static vec add(vec a, vec b) { return _mm512_add_ps(a, b); }
    static vec sub(vec a, vec b) { return _mm512_sub_ps(a, b); }
    static vec max(vec a, vec b) { return _mm512_max_ps(a, b); }
    static __m128 fold(vec v) { // 16 lanes to 4: (v[i] + v[i+8]) + (v[i+4] + v[i+12])
        const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
        return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    }
    static float hsum(vec v) {
        const __m128 q = fold(v); // then (q0 + q2) + (q1 + q3)
        const __m128 s = _mm_add_ps(q, _mm_movehl_ps(q, q));
        return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
    }
    static float hmax(vec v) { return _mm512_reduce_max_ps(v); }
    // e^x in double, rounded once to float (so nearly always the correctly
    // rounded value, as libm's expf gives): x = n ln2 + r, |r| <= ln2 / 2,
    // e^r by its Taylor series to r^11 (relative error < 1e-14), 2^n by scalef.
    static __m512d exp_pd(__m512d x) {
        const __m512d n = _mm512_roundscale_pd(_mm512_mul_pd(x, _mm512_set1_pd(1.4426950408889634)),
                                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m512d r = _mm512_fnmadd_pd(n, _mm512_set1_pd(6.93147180369123816490e-01), x);
        r = _mm512_fnmadd_pd(n, _mm512_set1_pd(1.90821492927058770002e-10), r);
        __m512d p = _mm512_set1_pd(1.0 / 39916800.0);
        for (double c : exp_taylor) {
            p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(c));
        }
        return _mm512_scalef_pd(p, n);
    }
    static vec exp(vec x) {
        x = _mm512_min_ps(_mm512_max_ps(x, set1(-104.0f)), set1(88.72f));
        const __m256 lo = _mm512_cvtpd_ps(exp_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(x))));
        const __m256 hi = _mm512_cvtpd_ps(exp_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(x, 1))));
        return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
    }
    static vec round_h(vec v) {
        return _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    // Lane i of the result = the sum of v[i]'s lanes, by the tree of fold()
    // then (q0 + q2) + (q1 + q3) for every i.
    static vec reduce(const vec* v) {
        __m512 u[8], w[4];
        for (int k = 0; k < 8; ++k) { // [v2k lo + hi | v2k+1 lo + hi]
            u[k] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0x44),
                                 _mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0xee));
        }
        for (int m = 0; m < 4; ++m) { // quarter q of w[m]: key 4m + q, four partial sums
            w[m] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2 * m], u[2 * m + 1], 0x88),
                                 _mm512_shuffle_f32x4(u[2 * m], u[2 * m + 1], 0xdd));
        }
        const __m512 x0 = _mm512_add_ps(_mm512_unpacklo_ps(w[0], w[1]), _mm512_unpackhi_ps(w[0], w[1]));
        const __m512 x1 = _mm512_add_ps(_mm512_unpacklo_ps(w[2], w[3]), _mm512_unpackhi_ps(w[2], w[3]));
        const __m512 y = _mm512_add_ps(_mm512_shuffle_ps(x0, x1, 0x44), _mm512_shuffle_ps(x0, x1, 0xee));
        // lane 4q + i of y holds key 4i + q
        const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        return _mm512_permutexvar_ps(idx, y);
    }
};

#include "kernels/detail/attention_body.hpp"

} // namespace

attend_fn attend_avx512() {
    return attend_items<avx512_ops>;
}

} // namespace radixrt::kernels::detail

#pragma GCC diagnostic pop
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
