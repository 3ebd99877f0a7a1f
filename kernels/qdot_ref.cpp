// Activation quantizers and the scalar reference dot products. Every weight
// block is unpacked to its integer values and integer scales (the values
// GGUF defines), multiplied with the activation's int8 values in int32, and
// scaled in float once per block:
//   legacy: sum_b d_w d_a sum_i q_w q_a  (+ m_w s_a for the _1 types)
//   K:      sum_b d_a (d_w sum_s sc_s sum_i q_w q_a - dmin_w sum_s m_s bsum_s)
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/qdot.hpp"
#include "kernels/quant_blocks.hpp"

namespace radixrt::kernels {

namespace {

float h2f(std::uint16_t h) {
    return f16_to_f32(h);
}

enum class act { q8_0, q8_1, q8_k };

act act_of(dtype w) {
    switch (w) {
    case dtype::q4_1:
    case dtype::q5_1:
        return act::q8_1;
    case dtype::q2_k:
    case dtype::q3_k:
    case dtype::q4_k:
    case dtype::q5_k:
    case dtype::q6_k:
        return act::q8_k;
    default:
        return act::q8_0;
    }
}

// The activation quantizers are defined for every input, so that each ISA
// level can write the same bytes: NaN elements are skipped by the max and
// quantize to 0; a block whose scale 127 / max|x| overflows (max|x| below
// ~3.7e-37, a block whose d is 0 anyway) quantizes to all zeros. No q is
// ever -128.
inline std::int8_t round_q(float v) {
    const float r = std::nearbyint(v);
    return r == r ? std::int8_t(r) : std::int8_t(0);
}

// max|x| / 127 per 32; q = round-half-even(x * 127 / max|x|) (llama.cpp's x86 path)
template <class B> void quantize_q8_legacy(const float* x, std::size_t nb, B* y) {
    for (std::size_t i = 0; i < nb; ++i, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; ++j) {
            amax = std::max(amax, std::fabs(x[j]));
        }
        const float d = amax / 127.f;
        float id = amax != 0.0f ? 127.f / amax : 0.0f;
        id = id == INFINITY ? 0.0f : id;
        y[i].d = f32_to_f16(d);
        int sum = 0;
        for (int j = 0; j < 32; ++j) {
            y[i].qs[j] = round_q(x[j] * id);
            sum += y[i].qs[j];
        }
        if constexpr (sizeof(B) == sizeof(block_q8_1)) {
            y[i].s = f32_to_f16(d * float(sum));
        }
    }
}

void quantize_q8_k(const float* x, std::size_t nb, block_q8_k* y) {
    for (std::size_t i = 0; i < nb; ++i, x += 256) {
        float max = 0, amax = 0;
        for (int j = 0; j < 256; ++j) {
            if (std::fabs(x[j]) > amax) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        }
        const float iscale = amax != 0 ? -127.f / max : 0.0f;
        if (amax == 0 || !std::isfinite(iscale)) {
            std::memset(&y[i], 0, sizeof(block_q8_k));
            continue;
        }
        for (int j = 0; j < 256; ++j) {
            y[i].qs[j] = std::int8_t(std::min(127, int(round_q(iscale * x[j]))));
        }
        for (int j = 0; j < 16; ++j) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) {
                sum += y[i].qs[16 * j + l];
            }
            y[i].bsums[j] = std::int16_t(sum);
        }
        y[i].d = 1 / iscale;
    }
}

// ---- legacy types: unpack a block to 32 ints ----

void unpack(const block_q4_0& b, int* q) {
    for (int j = 0; j < 16; ++j) {
        q[j] = (b.qs[j] & 0xF) - 8;
        q[j + 16] = (b.qs[j] >> 4) - 8;
    }
}
void unpack(const block_q4_1& b, int* q) {
    for (int j = 0; j < 16; ++j) {
        q[j] = b.qs[j] & 0xF;
        q[j + 16] = b.qs[j] >> 4;
    }
}
template <class B> void unpack5(const B& b, int* q, int offset) {
    std::uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    for (int j = 0; j < 16; ++j) {
        q[j] = int((b.qs[j] & 0xF) | (((qh >> j) << 4) & 0x10)) - offset;
        q[j + 16] = int((b.qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - offset;
    }
}
void unpack(const block_q5_0& b, int* q) {
    unpack5(b, q, 16);
}
void unpack(const block_q5_1& b, int* q) {
    unpack5(b, q, 0);
}
void unpack(const block_q8_0& b, int* q) {
    for (int j = 0; j < 32; ++j) {
        q[j] = b.qs[j];
    }
}

template <class W, class A> float dot_legacy(const void* wv, const void* av, std::size_t n) {
    const auto* w = static_cast<const W*>(wv);
    const auto* a = static_cast<const A*>(av);
    float sum = 0.0f;
    int q[32];
    for (std::size_t i = 0; i < n / 32; ++i) {
        unpack(w[i], q);
        int sumi = 0;
        for (int j = 0; j < 32; ++j) {
            sumi += q[j] * a[i].qs[j];
        }
        sum += float(sumi) * (h2f(w[i].d) * h2f(a[i].d));
        if constexpr (sizeof(A) == sizeof(block_q8_1)) {
            sum += h2f(w[i].m) * h2f(a[i].s);
        }
    }
    return sum;
}

// ---- K types: unpack a super-block to 256 ints, 16 scales and 16 mins ----

struct k_unpacked {
    int q[256];
    int sc[16]; // per 16 elements
    int mn[16]; // per 16 elements (0: no min)
    float d = 0, dmin = 0;
};

void unpack(const block_q2_k& b, k_unpacked& u) {
    u.d = h2f(b.d);
    u.dmin = h2f(b.dmin);
    for (int s = 0; s < 16; ++s) {
        u.sc[s] = b.scales[s] & 0xF;
        u.mn[s] = b.scales[s] >> 4;
    }
    for (int n = 0; n < 2; ++n) {
        for (int shift = 0; shift < 4; ++shift) {
            for (int l = 0; l < 32; ++l) {
                u.q[128 * n + 32 * shift + l] = (b.qs[32 * n + l] >> (2 * shift)) & 3;
            }
        }
    }
}

void unpack(const block_q3_k& b, k_unpacked& u) {
    u.d = h2f(b.d);
    u.dmin = 0;
    std::int8_t sc[16];
    q3_k_scales(b.scales, sc);
    for (int s = 0; s < 16; ++s) {
        u.sc[s] = sc[s];
        u.mn[s] = 0;
    }
    for (int n = 0; n < 2; ++n) {
        for (int shift = 0; shift < 4; ++shift) {
            const int m = 1 << (4 * n + shift);
            for (int l = 0; l < 32; ++l) {
                const int low = (b.qs[32 * n + l] >> (2 * shift)) & 3;
                u.q[128 * n + 32 * shift + l] = low - ((b.hmask[l] & m) ? 0 : 4);
            }
        }
    }
}

template <bool Five, class B> void unpack45(const B& b, k_unpacked& u) {
    u.d = h2f(b.d);
    u.dmin = h2f(b.dmin);
    for (int j = 0; j < 8; ++j) {
        std::uint8_t sc, m;
        k_scale_min(j, b.scales, sc, m);
        u.sc[2 * j] = u.sc[2 * j + 1] = sc;
        u.mn[2 * j] = u.mn[2 * j + 1] = m;
    }
    for (int c = 0; c < 4; ++c) { // 64 elements from 32 bytes
        for (int l = 0; l < 32; ++l) {
            int lo = b.qs[32 * c + l] & 0xF, hi = b.qs[32 * c + l] >> 4;
            if constexpr (Five) {
                lo += (b.qh[l] >> (2 * c) & 1) << 4;
                hi += (b.qh[l] >> (2 * c + 1) & 1) << 4;
            }
            u.q[64 * c + l] = lo;
            u.q[64 * c + 32 + l] = hi;
        }
    }
}
void unpack(const block_q4_k& b, k_unpacked& u) {
    unpack45<false>(b, u);
}
void unpack(const block_q5_k& b, k_unpacked& u) {
    unpack45<true>(b, u);
}

void unpack(const block_q6_k& b, k_unpacked& u) {
    u.d = h2f(b.d);
    u.dmin = 0;
    for (int s = 0; s < 16; ++s) {
        u.sc[s] = b.scales[s];
        u.mn[s] = 0;
    }
    for (int n = 0; n < 2; ++n) {
        const std::uint8_t* ql = b.ql + 64 * n;
        const std::uint8_t* qh = b.qh + 32 * n;
        int* q = u.q + 128 * n;
        for (int l = 0; l < 32; ++l) {
            q[l] = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            q[l + 32] = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            q[l + 64] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            q[l + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        }
    }
}

template <class W> float dot_k(const void* wv, const void* av, std::size_t n) {
    const auto* w = static_cast<const W*>(wv);
    const auto* a = static_cast<const block_q8_k*>(av);
    float sum = 0.0f;
    k_unpacked u;
    for (std::size_t i = 0; i < n / 256; ++i) {
        unpack(w[i], u);
        int isum = 0, msum = 0;
        for (int s = 0; s < 16; ++s) {
            int sub = 0;
            for (int l = 16 * s; l < 16 * s + 16; ++l) {
                sub += u.q[l] * a[i].qs[l];
            }
            isum += u.sc[s] * sub;
            msum += u.mn[s] * a[i].bsums[s];
        }
        sum += a[i].d * (u.d * float(isum) - u.dmin * float(msum));
    }
    return sum;
}

// One row at a time with a one-row dot.
template <float (*Dot)(const void*, const void*, std::size_t)>
void rows_of(const void* w, const void* a, std::size_t stride, std::size_t rows, std::size_t n,
             float* out) {
    for (std::size_t r = 0; r < rows; ++r) {
        out[r] = Dot(w, static_cast<const unsigned char*>(a) + r * stride, n);
    }
}

} // namespace

int activation_kind(dtype w) {
    return int(act_of(w));
}

std::size_t activation_row_bytes(dtype w, std::size_t n) {
    switch (act_of(w)) {
    case act::q8_0:
        return n / 32 * sizeof(block_q8_0);
    case act::q8_1:
        return n / 32 * sizeof(block_q8_1);
    case act::q8_k:
        return n / 256 * sizeof(block_q8_k);
    }
    return 0;
}

void quantize_activations(dtype w, const float* x, std::size_t n, void* out) {
    quantize_activations(w, x, n, out, active_isa());
}

void quantize_activations(dtype w, const float* x, std::size_t n, void* out, isa level) {
    if (level != isa::scalar && isa_supported(level)) {
        return detail::quantize_activations_avx2(w, x, n, out);
    }
    switch (act_of(w)) {
    case act::q8_0:
        return quantize_q8_legacy(x, n / 32, static_cast<block_q8_0*>(out));
    case act::q8_1:
        return quantize_q8_legacy(x, n / 32, static_cast<block_q8_1*>(out));
    case act::q8_k:
        return quantize_q8_k(x, n / 256, static_cast<block_q8_k*>(out));
    }
}

namespace detail {

qdot_fn qdot_reference(dtype w) {
    switch (w) {
    case dtype::q4_0:
        return rows_of<dot_legacy<block_q4_0, block_q8_0>>;
    case dtype::q4_1:
        return rows_of<dot_legacy<block_q4_1, block_q8_1>>;
    case dtype::q5_0:
        return rows_of<dot_legacy<block_q5_0, block_q8_0>>;
    case dtype::q5_1:
        return rows_of<dot_legacy<block_q5_1, block_q8_1>>;
    case dtype::q8_0:
        return rows_of<dot_legacy<block_q8_0, block_q8_0>>;
    case dtype::q2_k:
        return rows_of<dot_k<block_q2_k>>;
    case dtype::q3_k:
        return rows_of<dot_k<block_q3_k>>;
    case dtype::q4_k:
        return rows_of<dot_k<block_q4_k>>;
    case dtype::q5_k:
        return rows_of<dot_k<block_q5_k>>;
    case dtype::q6_k:
        return rows_of<dot_k<block_q6_k>>;
    default:
        return nullptr;
    }
}

} // namespace detail

qdot_fn qdot_kernel(dtype w, isa i) {
    if (i == isa::avx512) { // with VNNI: the AVX2 kernels' arithmetic, fused instructions
        if (auto f = detail::qdot_avx512(w)) {
            return f;
        }
    }
    if (i != isa::scalar) {
        if (auto f = detail::qdot_avx2(w)) {
            return f;
        }
    }
    return detail::qdot_reference(w);
}

qtile_fn qtile_kernel(dtype w, isa i) {
    // The tiles equal the level's row kernels.
    return i == isa::avx512 ? detail::qtile_avx512(w) : nullptr;
}

void qtile_prepare(dtype w, const void* a, std::size_t a_stride, std::size_t rows, std::size_t n,
                   void* prep, std::size_t prep_stride) {
    assert(detail::qtile_avx512(w) != nullptr);
    detail::qtile_prepare_avx512(w, a, a_stride, rows, n, prep, prep_stride);
}

} // namespace radixrt::kernels
