#pragma once
// e^x evaluated in double and rounded once to float by the caller: nearly
// always the correctly rounded value, as libm's expf gives, overflow to inf
// and underflow to subnormals or 0 included. x = n ln2 + r with |r| <= ln2/2,
// e^r by its Taylor series to r^11 (relative error < 1e-14), then 2^n.
// Shared by the attention softmax and silu; the AVX-512 twin (with scalef)
// is in kernels/attention_avx512.cpp.
#include <immintrin.h>

namespace radixrt::kernels::detail {

/// 1/10!, 1/9!, ..., 1/0!: the Taylor coefficients of e^r after 1/11!.
inline constexpr double exp_taylor[] = {1.0 / 3628800, 1.0 / 362880, 1.0 / 40320, 1.0 / 5040,
                                        1.0 / 720,     1.0 / 120,    1.0 / 24,    1.0 / 6,
                                        1.0 / 2,       1.0,          1.0};

/// Four lanes, x in [-150 ln2, 127 ln2] or so (2^n built in the exponent
/// field of a double, which has room far beyond float's range).
__attribute__((target("avx2,fma"))) inline __m256d exp4_pd(__m256d x) {
    const __m256d n = _mm256_round_pd(_mm256_mul_pd(x, _mm256_set1_pd(1.4426950408889634)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256d r = _mm256_fnmadd_pd(n, _mm256_set1_pd(6.93147180369123816490e-01), x);
    r = _mm256_fnmadd_pd(n, _mm256_set1_pd(1.90821492927058770002e-10), r);
    __m256d p = _mm256_set1_pd(1.0 / 39916800.0);
    for (double c : exp_taylor) {
        p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(c));
    }
    const __m256i e = _mm256_slli_epi64(
        _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(n)), _mm256_set1_epi64x(1023)),
        52);
    return _mm256_mul_pd(p, _mm256_castsi256_pd(e));
}

} // namespace radixrt::kernels::detail
