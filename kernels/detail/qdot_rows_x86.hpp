// The row kernels of the x86 integer dot products (qdot.hpp), for one weight
// row against 1..qdot_max_rows activation rows. Included by qdot_avx2.cpp
// and qdot_avx512.cpp after their target pragmas, inside an anonymous
// namespace, so each gets its own instantiation; the including file defines
// `constexpr bool use_vnni` first. No #pragma once and no includes: the
// including file provides both (immintrin.h, cstring, type_traits, qdot.hpp,
// quant_blocks.hpp).
//
// use_vnni fuses the byte products' widening and summing into AVX-512 VNNI's
// vpdpbusd / vpdpwssd. The int32 sums are exact either way, so both
// instantiations give the same floats bit for bit.

inline float h2f(std::uint16_t h) {
    return _cvtsh_ss(h);
}

// Lane sums by a fixed tree.
inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// 32 unsigned bytes u times 32 signed bytes s, summed in fours to 8 int32
// (no pair of products reaches the int16 limit of maddubs here).
inline __m256i dot_us(__m256i u, __m256i s) {
    if constexpr (use_vnni) {
        return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
    } else {
        return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
    }
}

// acc + the int16 products p * s summed in pairs.
inline __m256i madd_add(__m256i acc, __m256i p, __m256i s) {
    if constexpr (use_vnni) {
        return _mm256_dpwssd_epi32(acc, p, s);
    } else {
        return _mm256_add_epi32(acc, _mm256_madd_epi16(p, s));
    }
}

inline __m256i load(const void* p) {
    return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// 16 bytes of nibbles to 32 bytes: low nibbles first, then high nibbles.
inline __m256i nibbles(const std::uint8_t* p) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(b, 4), b);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

template <bool Four> using weight_block = std::conditional_t<Four, block_q4_0, block_q8_0>;

// R activation rows (a_stride bytes apart) against one weight row: the
// weight block is unpacked once for all R. Each row's arithmetic is the
// same whatever R, so a row computed in a batch equals the row alone.
template <int R, bool Four>
void dot_legacy_r(const void* wv, const void* av, std::size_t a_stride, std::size_t n, float* out) {
    using WB = weight_block<Four>;
    const auto* w = static_cast<const WB*>(wv);
    const auto* a0 = static_cast<const unsigned char*>(av);
    __m256 acc[R];
    for (int r = 0; r < R; ++r) {
        acc[r] = _mm256_setzero_ps();
    }
    for (std::size_t i = 0; i < n / 32; ++i) {
        __m256i q;
        if constexpr (Four) {
            q = _mm256_sub_epi8(nibbles(w[i].qs), _mm256_set1_epi8(8)); // -8..7
        } else {
            q = load(w[i].qs);
        }
        const __m256i u = _mm256_sign_epi8(q, q); // |q| as unsigned
        const float dw = h2f(w[i].d);
        for (int r = 0; r < R; ++r) {
            const auto& a = reinterpret_cast<const block_q8_0*>(a0 + r * a_stride)[i];
            const __m256i p = dot_us(u, _mm256_sign_epi8(load(a.qs), q));
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(dw * h2f(a.d)), _mm256_cvtepi32_ps(p), acc[r]);
        }
    }
    for (int r = 0; r < R; ++r) {
        out[r] = hsum(acc[r]);
    }
}

// The 6-bit scales and mins of a Q4_K / Q5_K block as bytes: out[0..1] the
// 8 scales, out[2..3] the 8 mins (bit layout: quant_blocks.hpp k_scale_min).
inline void k_scales_mins(const std::uint8_t* packed, std::uint32_t out[4]) {
    constexpr std::uint32_t six = 0x3f3f3f3f, four = 0x0f0f0f0f, two = 0x03030303;
    std::uint32_t u[3];
    std::memcpy(u, packed, 12);
    out[0] = u[0] & six;
    out[1] = (u[2] & four) | (((u[0] >> 6) & two) << 4);
    out[2] = u[1] & six;
    out[3] = ((u[2] >> 4) & four) | (((u[1] >> 6) & two) << 4);
}

// pshufb control repeating the int16 at index j of a 128-bit lane 8 times.
alignas(32) constexpr std::uint8_t k_splat[8][32] = {
#define RADIXRT_SPLAT(j)                                                                           \
    {                                                                                              \
        2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1,  \
            2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j,         \
            2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1,     \
            2 * j, 2 * j + 1, 2 * j, 2 * j + 1                                                     \
    }
    RADIXRT_SPLAT(0), RADIXRT_SPLAT(1), RADIXRT_SPLAT(2), RADIXRT_SPLAT(3),
    RADIXRT_SPLAT(4), RADIXRT_SPLAT(5), RADIXRT_SPLAT(6), RADIXRT_SPLAT(7),
#undef RADIXRT_SPLAT
};

inline __m256i splat16(__m256i v, int j) {
    return _mm256_shuffle_epi8(v, _mm256_load_si256(reinterpret_cast<const __m256i*>(k_splat[j])));
}

template <int R, bool Five, class B>
void dot_q45_k_r(const void* wv, const void* av, std::size_t a_stride, std::size_t n, float* out) {
    const auto* w = static_cast<const B*>(wv);
    const auto* a0 = static_cast<const unsigned char*>(av);
    __m256 acc[R];
    __m128 acc_m[R];
    for (int r = 0; r < R; ++r) {
        acc[r] = _mm256_setzero_ps();
        acc_m[r] = _mm_setzero_ps();
    }
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    for (std::size_t i = 0; i < n / 256; ++i) {
        std::uint32_t sm[4];
        k_scales_mins(w[i].scales, sm);
        const __m256i both =
            _mm256_cvtepu8_epi16(_mm_set_epi32(int(sm[3]), int(sm[2]), int(sm[1]), int(sm[0])));
        const __m128i mins = _mm256_extracti128_si256(both, 1);
        const __m128i sc = _mm256_castsi256_si128(both);
        const __m256i scales = _mm256_set_m128i(sc, sc);
        const float dw = h2f(w[i].d), dmin = h2f(w[i].dmin);
        __m256i sumi[R];
        for (int r = 0; r < R; ++r) {
            const auto& a = reinterpret_cast<const block_q8_k*>(a0 + r * a_stride)[i];
            // mins: sum_j m_j * (bsum_2j + bsum_2j+1), four int32 partial sums
            const __m256i bsums = load(a.bsums);
            const __m128i pairs =
                _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1));
            acc_m[r] = _mm_fmadd_ps(_mm_set1_ps(-a.d * dmin),
                                    _mm_cvtepi32_ps(_mm_madd_epi16(mins, pairs)), acc_m[r]);
            sumi[r] = _mm256_setzero_si256();
        }
        __m256i hbits;
        if constexpr (Five) {
            hbits = load(w[i].qh);
        }
        for (int c = 0; c < 4; ++c) {
            const __m256i bytes = load(w[i].qs + 32 * c);
            __m256i lo = _mm256_and_si256(bytes, low4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4);
            if constexpr (Five) {
                const __m256i one = _mm256_set1_epi8(1);
                lo = _mm256_or_si256(
                    lo,
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 2 * c), one), 4));
                hi = _mm256_or_si256(
                    hi, _mm256_slli_epi16(
                            _mm256_and_si256(_mm256_srli_epi16(hbits, 2 * c + 1), one), 4));
            }
            const __m256i slo = splat16(scales, 2 * c), shi = splat16(scales, 2 * c + 1);
            for (int r = 0; r < R; ++r) {
                const auto& a = reinterpret_cast<const block_q8_k*>(a0 + r * a_stride)[i];
                const __m256i plo = _mm256_maddubs_epi16(lo, load(a.qs + 64 * c));
                const __m256i phi = _mm256_maddubs_epi16(hi, load(a.qs + 64 * c + 32));
                sumi[r] = madd_add(sumi[r], plo, slo);
                sumi[r] = madd_add(sumi[r], phi, shi);
            }
        }
        for (int r = 0; r < R; ++r) {
            const auto& a = reinterpret_cast<const block_q8_k*>(a0 + r * a_stride)[i];
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(a.d * dw), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
        }
    }
    for (int r = 0; r < R; ++r) {
        __m128 m = _mm_add_ps(acc_m[r], _mm_movehl_ps(acc_m[r], acc_m[r]));
        m = _mm_add_ss(m, _mm_movehdup_ps(m));
        out[r] = hsum(acc[r]) + _mm_cvtss_f32(m);
    }
}

// pshufb control for Q6_K: lanes 0..7 the int16 at index 2k of a 128-bit
// lane, lanes 8..15 the int16 at index 2k + 1.
alignas(32) constexpr std::uint8_t k_pair[4][32] = {
#define RADIXRT_PAIR(k)                                                                            \
    {                                                                                              \
        4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1,  \
            4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3, 4 * k + 2, \
            4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3,           \
            4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3                       \
    }
    RADIXRT_PAIR(0),
    RADIXRT_PAIR(1),
    RADIXRT_PAIR(2),
    RADIXRT_PAIR(3),
#undef RADIXRT_PAIR
};

// Q6_K: sum_j scale_j * sum_i (q_i - 32) * a_i, computed as
// sum_j scale_j * sum_i q_i * a_i  -  32 * sum_j scale_j * bsum_j.
// Both terms are exact in int32, so this equals the direct form bit for bit.
template <int R>
void dot_q6_k_r(const void* wv, const void* av, std::size_t a_stride, std::size_t n, float* out) {
    const auto* w = static_cast<const block_q6_k*>(wv);
    const auto* a0 = static_cast<const unsigned char*>(av);
    __m256 acc[R];
    for (int r = 0; r < R; ++r) {
        acc[r] = _mm256_setzero_ps();
    }
    const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(3);
    for (std::size_t i = 0; i < n / 256; ++i) {
        const __m256i scales =
            _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[i].scales)));
        __m256i sumi[R];
        for (int r = 0; r < R; ++r) {
            const auto& a = reinterpret_cast<const block_q8_k*>(a0 + r * a_stride)[i];
            sumi[r] = _mm256_slli_epi32(_mm256_madd_epi16(scales, load(a.bsums)), 5);
            sumi[r] = _mm256_sub_epi32(_mm256_setzero_si256(), sumi[r]);
        }
        for (int half = 0; half < 2; ++half) {
            const std::uint8_t* ql = w[i].ql + 64 * half;
            const __m256i qh = load(w[i].qh + 32 * half);
            const __m256i l0 = load(ql), l1 = load(ql + 32);
            const __m256i q[4] = {
                _mm256_or_si256(_mm256_and_si256(l0, low4),
                                _mm256_slli_epi16(_mm256_and_si256(qh, two), 4)),
                _mm256_or_si256(
                    _mm256_and_si256(l1, low4),
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), two), 4)),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16(l0, 4), low4),
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), two), 4)),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), two), 4)),
            };
            // this half's eight scales (int16) in both 128-bit lanes
            const __m256i sc = half == 0 ? _mm256_permute2x128_si256(scales, scales, 0x00)
                                         : _mm256_permute2x128_si256(scales, scales, 0x11);
            for (int k = 0; k < 4; ++k) {
                // lanes 0..7: scale 8 * half + 2k, lanes 8..15: the next one
                const __m256i scale = _mm256_shuffle_epi8(
                    sc, _mm256_load_si256(reinterpret_cast<const __m256i*>(k_pair[k])));
                for (int r = 0; r < R; ++r) {
                    const auto& a = reinterpret_cast<const block_q8_k*>(a0 + r * a_stride)[i];
                    const __m256i p = _mm256_maddubs_epi16(q[k], load(a.qs + 128 * half + 32 * k));
                    sumi[r] = madd_add(sumi[r], p, scale);
                }
            }
        }
        const float dw = h2f(w[i].d);
        for (int r = 0; r < R; ++r) {
            const auto& a = reinterpret_cast<const block_q8_k*>(a0 + r * a_stride)[i];
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(a.d * dw), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
        }
    }
    for (int r = 0; r < R; ++r) {
        out[r] = hsum(acc[r]);
    }
}

// A kernel for 1..qdot_max_rows activation rows, chosen at run time.
template <template <int> class K>
void by_rows(const void* w, const void* a, std::size_t stride, std::size_t rows, std::size_t n,
             float* out) {
    static_assert(qdot_max_rows == 4);
    switch (rows) {
    case 1:
        return K<1>::run(w, a, stride, n, out);
    case 2:
        return K<2>::run(w, a, stride, n, out);
    case 3:
        return K<3>::run(w, a, stride, n, out);
    default:
        return K<4>::run(w, a, stride, n, out);
    }
}

template <int R> struct q8_0_rows {
    static void run(const void* w, const void* a, std::size_t st, std::size_t n, float* out) {
        dot_legacy_r<R, false>(w, a, st, n, out);
    }
};
template <int R> struct q4_0_rows {
    static void run(const void* w, const void* a, std::size_t st, std::size_t n, float* out) {
        dot_legacy_r<R, true>(w, a, st, n, out);
    }
};
template <int R> struct q4_k_rows {
    static void run(const void* w, const void* a, std::size_t st, std::size_t n, float* out) {
        dot_q45_k_r<R, false, block_q4_k>(w, a, st, n, out);
    }
};
template <int R> struct q5_k_rows {
    static void run(const void* w, const void* a, std::size_t st, std::size_t n, float* out) {
        dot_q45_k_r<R, true, block_q5_k>(w, a, st, n, out);
    }
};
template <int R> struct q6_k_rows {
    static void run(const void* w, const void* a, std::size_t st, std::size_t n, float* out) {
        dot_q6_k_r<R>(w, a, st, n, out);
    }
};

// The row kernel of weight type w, or nullptr where there is none.
inline qdot_fn row_kernel(dtype w) {
    switch (w) {
    case dtype::q8_0:
        return by_rows<q8_0_rows>;
    case dtype::q4_0:
        return by_rows<q4_0_rows>;
    case dtype::q4_k:
        return by_rows<q4_k_rows>;
    case dtype::q5_k:
        return by_rows<q5_k_rows>;
    case dtype::q6_k:
        return by_rows<q6_k_rows>;
    default:
        return nullptr;
    }
}
