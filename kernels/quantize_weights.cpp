// Weight quantizers for every GGUF block type, making llama.cpp's reference
// choices (ggml-quants.c, the *_ref functions llama-quantize uses without an
// importance matrix). Rounding matters: the legacy types truncate x + 0.5
// (Q4_0 / Q4_1 / Q5_x) or round half away from zero (Q8_0); the K types use
// round-half-to-even (nearest_int below) inside their scale searches.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "kernels/quant_blocks.hpp"
#include "kernels/quantize.hpp"

namespace radixrt::kernels {

namespace {

std::uint16_t f2h(float f) {
    return f32_to_f16(f);
}

// ---- legacy blocks of 32 ----

void q_q4_0(const float* x, block_q4_0* y, std::size_t nb) {
    for (std::size_t i = 0; i < nb; ++i, x += 32) {
        float amax = 0.0f, max = 0.0f; // the value of largest magnitude, with its sign
        for (int j = 0; j < 32; ++j) {
            if (amax < std::fabs(x[j])) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        }
        const float d = max / -8;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f2h(d);
        for (int j = 0; j < 16; ++j) {
            const auto q0 = std::uint8_t(std::min(15, int(std::int8_t(x[j] * id + 8.5f))));
            const auto q1 = std::uint8_t(std::min(15, int(std::int8_t(x[j + 16] * id + 8.5f))));
            y[i].qs[j] = std::uint8_t(q0 | (q1 << 4));
        }
    }
}

void q_q4_1(const float* x, block_q4_1* y, std::size_t nb) {
    for (std::size_t i = 0; i < nb; ++i, x += 32) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < 32; ++j) {
            min = std::min(min, x[j]);
            max = std::max(max, x[j]);
        }
        const float d = (max - min) / 15;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f2h(d);
        y[i].m = f2h(min);
        for (int j = 0; j < 16; ++j) {
            const auto q0 = std::uint8_t(std::min(15, int(std::int8_t((x[j] - min) * id + 0.5f))));
            const auto q1 =
                std::uint8_t(std::min(15, int(std::int8_t((x[j + 16] - min) * id + 0.5f))));
            y[i].qs[j] = std::uint8_t(q0 | (q1 << 4));
        }
    }
}

void q_q5_0(const float* x, block_q5_0* y, std::size_t nb) {
    for (std::size_t i = 0; i < nb; ++i, x += 32) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 32; ++j) {
            if (amax < std::fabs(x[j])) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        }
        const float d = max / -16;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f2h(d);
        std::uint32_t qh = 0;
        for (int j = 0; j < 16; ++j) {
            const auto q0 = std::uint8_t(std::min(31, int(std::int8_t(x[j] * id + 16.5f))));
            const auto q1 = std::uint8_t(std::min(31, int(std::int8_t(x[j + 16] * id + 16.5f))));
            y[i].qs[j] = std::uint8_t((q0 & 0xF) | ((q1 & 0xF) << 4));
            qh |= std::uint32_t((q0 & 0x10u) >> 4) << j;
            qh |= std::uint32_t((q1 & 0x10u) >> 4) << (j + 16);
        }
        std::memcpy(y[i].qh, &qh, 4);
    }
}

void q_q5_1(const float* x, block_q5_1* y, std::size_t nb) {
    for (std::size_t i = 0; i < nb; ++i, x += 32) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < 32; ++j) {
            min = std::min(min, x[j]);
            max = std::max(max, x[j]);
        }
        const float d = (max - min) / 31;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f2h(d);
        y[i].m = f2h(min);
        std::uint32_t qh = 0;
        for (int j = 0; j < 16; ++j) {
            const auto q0 = std::uint8_t((x[j] - min) * id + 0.5f);
            const auto q1 = std::uint8_t((x[j + 16] - min) * id + 0.5f);
            y[i].qs[j] = std::uint8_t((q0 & 0xF) | ((q1 & 0xF) << 4));
            qh |= std::uint32_t((q0 & 0x10u) >> 4) << j;
            qh |= std::uint32_t((q1 & 0x10u) >> 4) << (j + 16);
        }
        std::memcpy(y[i].qh, &qh, 4);
    }
}

void q_q8_0(const float* x, block_q8_0* y, std::size_t nb) {
    for (std::size_t i = 0; i < nb; ++i, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; ++j) {
            amax = std::max(amax, std::fabs(x[j]));
        }
        const float d = amax / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f2h(d);
        for (int j = 0; j < 32; ++j) {
            y[i].qs[j] = std::int8_t(std::round(x[j] * id));
        }
    }
}

} // namespace

// The K types' scale searches live in quantize_k.cpp.
void quantize_k_blocks(dtype t, const float* x, std::size_t nb, void* out);

void quantize_blocks(dtype t, const float* in, std::size_t n, void* row) {
    const std::size_t nb = n / block_elems(t);
    switch (t) {
    case dtype::q4_0:
        return q_q4_0(in, static_cast<block_q4_0*>(row), nb);
    case dtype::q4_1:
        return q_q4_1(in, static_cast<block_q4_1*>(row), nb);
    case dtype::q5_0:
        return q_q5_0(in, static_cast<block_q5_0*>(row), nb);
    case dtype::q5_1:
        return q_q5_1(in, static_cast<block_q5_1*>(row), nb);
    case dtype::q8_0:
        return q_q8_0(in, static_cast<block_q8_0*>(row), nb);
    case dtype::q2_k:
    case dtype::q3_k:
    case dtype::q4_k:
    case dtype::q5_k:
    case dtype::q6_k:
        return quantize_k_blocks(t, in, nb, row);
    default:
        return;
    }
}

} // namespace radixrt::kernels
