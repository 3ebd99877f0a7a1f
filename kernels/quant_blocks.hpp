#pragma once
// GGUF's block layouts, byte for byte (the file format is the contract).
// F16 fields are stored as raw uint16. Legacy types: blocks of 32; K types:
// super-blocks of 256 with sub-block scales packed inside. The activation
// blocks (Q8_1, Q8_K) never appear in files: matmuls quantize inputs to them.
#include <cstdint>

#include "kernels/dtype.hpp"

namespace radixrt::kernels {

// x_i = d * (q_i - 8); q_i: low nibbles hold elements 0..15, high 16..31
struct block_q4_0 {
    std::uint16_t d;
    std::uint8_t qs[16];
};
// x_i = d * q_i + m
struct block_q4_1 {
    std::uint16_t d, m;
    std::uint8_t qs[16];
};
// x_i = d * (q_i - 16); the 5th bit of element i is bit i of qh
struct block_q5_0 {
    std::uint16_t d;
    std::uint8_t qh[4];
    std::uint8_t qs[16];
};
// x_i = d * q_i + m
struct block_q5_1 {
    std::uint16_t d, m;
    std::uint8_t qh[4];
    std::uint8_t qs[16];
};
// x_i = d * q_i
struct block_q8_0 {
    std::uint16_t d;
    std::int8_t qs[32];
};
// activations for Q4_1 / Q5_1: x_i = d * q_i, s = d * sum(q)
struct block_q8_1 {
    std::uint16_t d, s;
    std::int8_t qs[32];
};
// 16 sub-blocks of 16: x = d * (scales & 15) * q - dmin * (scales >> 4), q in 0..3
struct block_q2_k {
    std::uint8_t scales[16];
    std::uint8_t qs[64];
    std::uint16_t d, dmin;
};
// 16 sub-blocks of 16 with 6-bit signed scales: x = d * (s - 32) * (q - 4 * !hbit), q in 0..3
struct block_q3_k {
    std::uint8_t hmask[32];
    std::uint8_t qs[64];
    std::uint8_t scales[12];
    std::uint16_t d;
};
// 8 sub-blocks of 32 with 6-bit scale and min: x = d * sc * q - dmin * m, q in 0..15
struct block_q4_k {
    std::uint16_t d, dmin;
    std::uint8_t scales[12];
    std::uint8_t qs[128];
};
// as Q4_K with a 5th bit in qh: q in 0..31
struct block_q5_k {
    std::uint16_t d, dmin;
    std::uint8_t scales[12];
    std::uint8_t qh[32];
    std::uint8_t qs[128];
};
// 16 sub-blocks of 16 with int8 scales: x = d * scale * (q - 32), q in 0..63
struct block_q6_k {
    std::uint8_t ql[128];
    std::uint8_t qh[64];
    std::int8_t scales[16];
    std::uint16_t d;
};
// activations for the K types: x = d * q, bsums: sums of each 16 quants
struct block_q8_k {
    float d;
    std::int8_t qs[256];
    std::int16_t bsums[16];
};

static_assert(sizeof(block_q4_0) == block_bytes(dtype::q4_0));
static_assert(sizeof(block_q4_1) == block_bytes(dtype::q4_1));
static_assert(sizeof(block_q5_0) == block_bytes(dtype::q5_0));
static_assert(sizeof(block_q5_1) == block_bytes(dtype::q5_1));
static_assert(sizeof(block_q8_0) == block_bytes(dtype::q8_0));
static_assert(sizeof(block_q8_1) == 36);
static_assert(sizeof(block_q2_k) == block_bytes(dtype::q2_k));
static_assert(sizeof(block_q3_k) == block_bytes(dtype::q3_k));
static_assert(sizeof(block_q4_k) == block_bytes(dtype::q4_k));
static_assert(sizeof(block_q5_k) == block_bytes(dtype::q5_k));
static_assert(sizeof(block_q6_k) == block_bytes(dtype::q6_k));
static_assert(sizeof(block_q8_k) == 4 + 256 + 32);

/// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block.
inline void k_scale_min(int j, const std::uint8_t* q, std::uint8_t& sc, std::uint8_t& m) {
    if (j < 4) {
        sc = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        sc = std::uint8_t((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        m = std::uint8_t((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/// The 16 signed 6-bit scales (already minus 32) of a Q3_K block.
inline void q3_k_scales(const std::uint8_t* packed, std::int8_t out[16]) {
    for (int j = 0; j < 16; ++j) {
        const int low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
        const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
        out[j] = std::int8_t((low | (high << 4)) - 32);
    }
}

} // namespace radixrt::kernels
