// Dequantization of every GGUF block type, and weight quantizers that make
// the same choices as llama.cpp's reference quantizers (those its
// llama-quantize uses without an importance matrix): Q8_0 and Q4_0 round
// exactly as llama.cpp does, so rows are byte-identical; the K types search
// scales the same way (an RMSE-weighted search over candidate scales).
#include <algorithm>
#include <cfloat>
#include <cmath>

#include "kernels/quant_blocks.hpp"
#include "kernels/quantize.hpp"

namespace radixrt::kernels {

namespace {

float h2f(std::uint16_t h) {
    return f16_to_f32(h);
}

// ---- dequantization ----

void dq_q4_0(const block_q4_0* b, std::size_t nb, float* y) {
    for (std::size_t i = 0; i < nb; ++i, y += 32) {
        const float d = h2f(b[i].d);
        for (int j = 0; j < 16; ++j) {
            y[j] = float((b[i].qs[j] & 0xF) - 8) * d;
            y[j + 16] = float((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void dq_q4_1(const block_q4_1* b, std::size_t nb, float* y) {
    for (std::size_t i = 0; i < nb; ++i, y += 32) {
        const float d = h2f(b[i].d), m = h2f(b[i].m);
        for (int j = 0; j < 16; ++j) {
            y[j] = float(b[i].qs[j] & 0xF) * d + m;
            y[j + 16] = float(b[i].qs[j] >> 4) * d + m;
        }
    }
}

template <class B> std::uint32_t high_bits(const B& b) {
    std::uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    return qh;
}

void dq_q5_0(const block_q5_0* b, std::size_t nb, float* y) {
    for (std::size_t i = 0; i < nb; ++i, y += 32) {
        const float d = h2f(b[i].d);
        const std::uint32_t qh = high_bits(b[i]);
        for (int j = 0; j < 16; ++j) {
            const int x0 = int((b[i].qs[j] & 0xF) | (((qh >> j) << 4) & 0x10)) - 16;
            const int x1 = int((b[i].qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - 16;
            y[j] = float(x0) * d;
            y[j + 16] = float(x1) * d;
        }
    }
}

void dq_q5_1(const block_q5_1* b, std::size_t nb, float* y) {
    for (std::size_t i = 0; i < nb; ++i, y += 32) {
        const float d = h2f(b[i].d), m = h2f(b[i].m);
        const std::uint32_t qh = high_bits(b[i]);
        for (int j = 0; j < 16; ++j) {
            const int x0 = int((b[i].qs[j] & 0xF) | (((qh >> j) << 4) & 0x10));
            const int x1 = int((b[i].qs[j] >> 4) | ((qh >> (j + 12)) & 0x10));
            y[j] = float(x0) * d + m;
            y[j + 16] = float(x1) * d + m;
        }
    }
}

void dq_q8_0(const block_q8_0* b, std::size_t nb, float* y) {
    for (std::size_t i = 0; i < nb; ++i, y += 32) {
        const float d = h2f(b[i].d);
        for (int j = 0; j < 32; ++j) {
            y[j] = float(b[i].qs[j]) * d;
        }
    }
}

void dq_q2_k(const block_q2_k* b, std::size_t nb, float* y) {
    for (std::size_t i = 0; i < nb; ++i) {
        const float d = h2f(b[i].d), dmin = h2f(b[i].dmin);
        const std::uint8_t* q = b[i].qs;
        int is = 0;
        for (int n = 0; n < 256; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; ++half) {
                    const std::uint8_t sc = b[i].scales[is++];
                    const float dl = d * float(sc & 0xF), ml = dmin * float(sc >> 4);
                    for (int l = 0; l < 16; ++l) {
                        *y++ = dl * float((q[l + 16 * half] >> shift) & 3) - ml;
                    }
                }
            }
        }
    }
}

void dq_q3_k(const block_q3_k* b, std::size_t nb, float* y) {
    for (std::size_t i = 0; i < nb; ++i) {
        const float d = h2f(b[i].d);
        std::int8_t scales[16];
        q3_k_scales(b[i].scales, scales);
        const std::uint8_t* q = b[i].qs;
        std::uint8_t m = 1;
        int is = 0;
        for (int n = 0; n < 256; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
                for (int half = 0; half < 2; ++half) {
                    const float dl = d * float(scales[is++]);
                    for (int l = 16 * half; l < 16 * half + 16; ++l) {
                        const int v = ((q[l] >> shift) & 3) - ((b[i].hmask[l] & m) ? 0 : 4);
                        *y++ = dl * float(v);
                    }
                }
            }
        }
    }
}

template <bool Five, class B> void dq_q45_k(const B* b, std::size_t nb, float* y) {
    for (std::size_t i = 0; i < nb; ++i) {
        const float d = h2f(b[i].d), dmin = h2f(b[i].dmin);
        const std::uint8_t* q = b[i].qs;
        std::uint8_t u1 = 1, u2 = 2;
        for (int j = 0; j < 8; j += 2, q += 32, u1 <<= 2, u2 <<= 2) {
            std::uint8_t sc, m;
            k_scale_min(j, b[i].scales, sc, m);
            const float d1 = d * float(sc), m1 = dmin * float(m);
            k_scale_min(j + 1, b[i].scales, sc, m);
            const float d2 = d * float(sc), m2 = dmin * float(m);
            for (int l = 0; l < 32; ++l) {
                int v = q[l] & 0xF;
                if constexpr (Five) {
                    v += (b[i].qh[l] & u1) ? 16 : 0;
                }
                *y++ = d1 * float(v) - m1;
            }
            for (int l = 0; l < 32; ++l) {
                int v = q[l] >> 4;
                if constexpr (Five) {
                    v += (b[i].qh[l] & u2) ? 16 : 0;
                }
                *y++ = d2 * float(v) - m2;
            }
        }
    }
}

void dq_q6_k(const block_q6_k* b, std::size_t nb, float* y) {
    for (std::size_t i = 0; i < nb; ++i) {
        const float d = h2f(b[i].d);
        const std::uint8_t* ql = b[i].ql;
        const std::uint8_t* qh = b[i].qh;
        const std::int8_t* sc = b[i].scales;
        for (int n = 0; n < 256; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * float(sc[is]) * float(q1);
                y[l + 32] = d * float(sc[is + 2]) * float(q2);
                y[l + 64] = d * float(sc[is + 4]) * float(q3);
                y[l + 96] = d * float(sc[is + 6]) * float(q4);
            }
        }
    }
}

} // namespace

void dequantize_blocks(dtype t, const void* row, std::size_t n, float* out) {
    const std::size_t nb = n / block_elems(t);
    switch (t) {
    case dtype::q4_0:
        return dq_q4_0(static_cast<const block_q4_0*>(row), nb, out);
    case dtype::q4_1:
        return dq_q4_1(static_cast<const block_q4_1*>(row), nb, out);
    case dtype::q5_0:
        return dq_q5_0(static_cast<const block_q5_0*>(row), nb, out);
    case dtype::q5_1:
        return dq_q5_1(static_cast<const block_q5_1*>(row), nb, out);
    case dtype::q8_0:
        return dq_q8_0(static_cast<const block_q8_0*>(row), nb, out);
    case dtype::q2_k:
        return dq_q2_k(static_cast<const block_q2_k*>(row), nb, out);
    case dtype::q3_k:
        return dq_q3_k(static_cast<const block_q3_k*>(row), nb, out);
    case dtype::q4_k:
        return dq_q45_k<false>(static_cast<const block_q4_k*>(row), nb, out);
    case dtype::q5_k:
        return dq_q45_k<true>(static_cast<const block_q5_k*>(row), nb, out);
    case dtype::q6_k:
        return dq_q6_k(static_cast<const block_q6_k*>(row), nb, out);
    default:
        return;
    }
}

} // namespace radixrt::kernels
