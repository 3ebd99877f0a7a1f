// AVX-512 VNNI integer dot products. The row kernels are the AVX2 ones
// (kernels/detail/qdot_rows_x86.hpp) with the byte products' widening and
// summing fused into vpdpbusd / vpdpwssd. The Q8_0 / Q4_0 tiles take
// kernels::qtile_w weight rows against qtile_a activation rows, every weight
// and activation block loaded once per tile. Each output of a tile is
// computed exactly as the row kernel computes it: eight int32 partial sums
// per block, lane l the products 4l..4l+3, then acc = fma(dw * da,
// float(sum), acc) per block and the same lane-sum tree. So a row's result
// is the same bit for bit whether a tile or the row kernel computes it, and
// matmul stays batch invariant.
//
// vpdpbusd multiplies unsigned by signed bytes. The weights are made
// unsigned (Q8_0: q + 128, xor 0x80; Q4_0: its nibbles, q + 8) and the
// activations stay signed; c * (sum of the four activations) is taken off
// again by starting each sum at -c * sum, computed once per activation row
// by qtile_prepare with the row's scales as floats. The sums are exact in
// int32, so they equal the row kernels' sign trick for every activation the
// quantizers write (never -128: the sign trick cannot negate it).
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/qdot.hpp"
#include "kernels/quant_blocks.hpp"

#if defined(__clang__)
#pragma clang attribute push(                                                                      \
    __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni"))),                 \
    apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")
#endif

namespace radixrt::kernels {

namespace {

constexpr bool use_vnni = true;
#include "kernels/detail/qdot_rows_x86.hpp"

// The 32 weights of a block as unsigned bytes q + c: Q8_0 q + 128, Q4_0 its
// nibbles (q + 8) in the row kernel's order.
constexpr int weight_offset(bool four) {
    return four ? 8 : 128;
}
template <bool Four> inline __m256i unsigned_weights(const weight_block<Four>& b) {
    if constexpr (Four) {
        return nibbles(b.qs);
    } else {
        return _mm256_xor_si256(load(b.qs), _mm256_set1_epi8(char(0x80)));
    }
}

// A row's preparation (qtile_prep_bytes): per block, eight int32
// -c * (sum of four activations); then, from this byte offset, per block the
// scale as a float.
constexpr std::size_t scales_at(std::size_t blocks) {
    return blocks * 8 * sizeof(std::int32_t);
}

template <int RW, int RA, bool Four>
void tile(const void* wv, std::size_t w_stride, const void* av, std::size_t a_stride,
          const void* pv, std::size_t p_stride, std::size_t n, float* out, std::size_t out_stride) {
    using WB = weight_block<Four>;
    const auto* w0 = static_cast<const unsigned char*>(wv);
    const auto* a0 = static_cast<const unsigned char*>(av);
    const auto* p0 = static_cast<const unsigned char*>(pv);
    const std::size_t blocks = n / 32;
    __m256 acc[RA * RW];
    for (int t = 0; t < RA * RW; ++t) {
        acc[t] = _mm256_setzero_ps();
    }
    for (std::size_t i = 0; i < blocks; ++i) {
        __m256i uw[RW];
        __m256 dw[RW];
        for (int j = 0; j < RW; ++j) {
            const auto& b = reinterpret_cast<const WB*>(w0 + j * w_stride)[i];
            uw[j] = unsigned_weights<Four>(b);
            dw[j] = _mm256_cvtph_ps(_mm_set1_epi16(short(b.d)));
        }
        for (int r = 0; r < RA; ++r) {
            const auto& a = reinterpret_cast<const block_q8_0*>(a0 + r * a_stride)[i];
            const unsigned char* prep = p0 + r * p_stride;
            const __m256i qa = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs));
            const __m256 da =
                _mm256_broadcast_ss(reinterpret_cast<const float*>(prep + scales_at(blocks)) + i);
            const auto* start = reinterpret_cast<const __m256i*>(prep) + i;
            for (int j = 0; j < RW; ++j) {
                const __m256i p = _mm256_dpbusd_epi32(_mm256_loadu_si256(start), uw[j], qa);
                acc[r * RW + j] = _mm256_fmadd_ps(_mm256_mul_ps(dw[j], da), _mm256_cvtepi32_ps(p),
                                                  acc[r * RW + j]);
            }
        }
    }
    for (int r = 0; r < RA; ++r) {
        for (int j = 0; j < RW; ++j) {
            out[r * out_stride + j] = hsum(acc[r * RW + j]);
        }
    }
}

static_assert(qtile_w == 4 && qtile_a == 4);

bool cpu_has_vnni() {
    static const bool vnni = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512vnni") != 0;
    }();
    return vnni;
}

} // namespace

std::size_t qtile_prep_bytes(dtype, std::size_t n) {
    return scales_at(n / 32) + n / 32 * sizeof(float);
}

namespace detail {

qdot_fn qdot_avx512(dtype w) {
    return cpu_has_vnni() ? row_kernel(w) : nullptr;
}

qtile_fn qtile_avx512(dtype w) {
    if (!cpu_has_vnni()) {
        return nullptr;
    }
    switch (w) {
    case dtype::q8_0:
        return tile<qtile_w, qtile_a, false>;
    case dtype::q4_0:
        return tile<qtile_w, qtile_a, true>;
    default:
        return nullptr;
    }
}

void qtile_prepare_avx512(dtype w, const void* av, std::size_t a_stride, std::size_t rows,
                          std::size_t n, void* pv, std::size_t p_stride) {
    const std::size_t blocks = n / 32;
    // c: what unsigned_weights adds to each weight.
    const __m256i c = _mm256_set1_epi8(char(weight_offset(w == dtype::q4_0)));
    for (std::size_t r = 0; r < rows; ++r) {
        const auto* a = reinterpret_cast<const block_q8_0*>(static_cast<const unsigned char*>(av) +
                                                            r * a_stride);
        unsigned char* prep = static_cast<unsigned char*>(pv) + r * p_stride;
        auto* corr = reinterpret_cast<__m256i*>(prep);
        auto* scale = reinterpret_cast<float*>(prep + scales_at(blocks));
        for (std::size_t i = 0; i < blocks; ++i) {
            const __m256i sum = _mm256_dpbusd_epi32(_mm256_setzero_si256(), c, load(a[i].qs));
            _mm256_storeu_si256(corr + i, _mm256_sub_epi32(_mm256_setzero_si256(), sum));
            scale[i] = h2f(a[i].d);
        }
    }
}

} // namespace detail

} // namespace radixrt::kernels

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
