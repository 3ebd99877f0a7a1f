// K-type weight quantizers (super-blocks of 256), as llama.cpp's reference
// quantizers choose: per sub-block a scale (and for Q2_K/Q4_K/Q5_K a min)
// found by trying candidate scales and keeping the one with the smallest
// weighted error, then the sub-block scales themselves quantized against a
// super-block scale, then every value re-quantized with the final scales.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/quant_blocks.hpp"
#include "kernels/quantize.hpp"

namespace radixrt::kernels {

namespace {

constexpr float group_max_eps = 1e-15f;

int nearest_int(float x) {
    return int(std::nearbyint(x)); // half to even, as llama.cpp's float trick
}

// Symmetric: L[i] in [0, 2 nmax) with x ~ scale * (L - nmax). rmse_type 1
// weights errors by x^2 and searches 18 scales around nmax / max.
float sym_scale(int n, int nmax, const float* x, std::int8_t* L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; ++i) {
        if (std::fabs(x[i]) > amax) {
            amax = std::fabs(x[i]);
            max = x[i];
        }
    }
    if (amax < group_max_eps) {
        std::fill(L, L + n, std::int8_t(0));
        return 0.0f;
    }
    auto fit = [&](float iscale, float& sumlx, float& suml2, bool store) {
        sumlx = suml2 = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
            const float w = x[i] * x[i];
            sumlx += w * x[i] * float(l);
            suml2 += w * float(l * l);
            if (store) {
                L[i] = std::int8_t(l + nmax);
            }
        }
    };
    float sumlx, suml2;
    fit(-float(nmax) / max, sumlx, suml2, true);
    float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) {
            continue;
        }
        const float iscale = -(float(nmax) + 0.1f * float(is)) / max;
        fit(iscale, sumlx, suml2, false);
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            fit(iscale, sumlx, suml2, true);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// Asymmetric: x ~ scale * L - min, L in [0, nmax], weights w; tries
// nstep + 1 scales (nmax + rmin + rdelta * is) / (max - min) and solves the
// weighted least squares for scale and min at each. Returns the scale; *the_min
// gets -min (>= 0).
float asym_scale(int n, int nmax, const float* x, const float* weights, std::uint8_t* L,
                 float* the_min, float rmin, float rdelta, int nstep, bool use_mad) {
    float min = x[0], max = x[0];
    float sum_w = weights[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        min = std::min(min, x[i]);
        max = std::max(max, x[i]);
        sum_w += weights[i];
        sum_x += weights[i] * x[i];
    }
    if (min > 0) {
        min = 0;
    }
    if (max == min) {
        std::fill(L, L + n, std::uint8_t(0));
        *the_min = -min;
        return 0.0f;
    }
    float iscale = float(nmax) / (max - min);
    float scale = 1 / iscale;
    float best_mad = 0;
    for (int i = 0; i < n; ++i) {
        L[i] = std::uint8_t(std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax));
        float diff = scale * float(L[i]) + min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        best_mad += weights[i] * diff;
    }
    std::uint8_t aux[32];
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * float(is) + float(nmax)) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
            aux[i] = std::uint8_t(l);
            sum_l += weights[i] * float(l);
            sum_l2 += weights[i] * float(l * l);
            sum_xl += weights[i] * float(l) * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float mad = 0;
            for (int i = 0; i < n; ++i) {
                float diff = this_scale * float(aux[i]) + this_min - x[i];
                diff = use_mad ? std::fabs(diff) : diff * diff;
                mad += weights[i] * diff;
            }
            if (mad < best_mad) {
                std::copy(aux, aux + n, L);
                best_mad = mad;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

// Q3_K's sub-block fit: symmetric with iterative per-element refinement.
float q3_scale(int n, int nmax, const float* x, std::int8_t* L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; ++i) {
        if (std::fabs(x[i]) > amax) {
            amax = std::fabs(x[i]);
            max = x[i];
        }
    }
    if (amax < group_max_eps) {
        std::fill(L, L + n, std::int8_t(0));
        return 0.0f;
    }
    const float iscale = -float(nmax) / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = std::int8_t(l);
        const float w = x[i] * x[i];
        sumlx += w * x[i] * float(l);
        suml2 += w * float(l * l);
    }
    for (int itry = 0; itry < 5; ++itry) {
        int changed = 0;
        for (int i = 0; i < n; ++i) {
            const float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * float(L[i]);
            if (slx > 0) {
                float sl2 = suml2 - w * float(L[i] * L[i]);
                const int nl = std::clamp(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
                if (nl != L[i]) {
                    slx += w * x[i] * float(nl);
                    sl2 += w * float(nl * nl);
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = std::int8_t(nl);
                        sumlx = slx;
                        suml2 = sl2;
                        ++changed;
                    }
                }
            }
        }
        if (changed == 0) {
            break;
        }
    }
    for (int i = 0; i < n; ++i) {
        L[i] = std::int8_t(L[i] + nmax);
    }
    return sumlx / suml2;
}

void pack_2bit(const std::uint8_t* L, std::uint8_t* qs) {
    for (int j = 0; j < 256; j += 128) {
        for (int l = 0; l < 32; ++l) {
            qs[j / 4 + l] = std::uint8_t(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                         (L[j + l + 96] << 6));
        }
    }
}

void q_q2_k(const float* x, block_q2_k* y, std::size_t nb) {
    std::uint8_t L[256];
    float weights[16], mins[16], scales[16];
    for (std::size_t i = 0; i < nb; ++i, x += 256) {
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < 16; ++j) {
            for (int l = 0; l < 16; ++l) {
                weights[l] = std::fabs(x[16 * j + l]);
            }
            scales[j] =
                asym_scale(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], -0.5f, 0.1f, 15, true);
            max_scale = std::max(max_scale, scales[j]);
            max_min = std::max(max_min, mins[j]);
        }
        if (max_scale > 0) {
            const float iscale = 15.f / max_scale;
            for (int j = 0; j < 16; ++j) {
                y[i].scales[j] = std::uint8_t(nearest_int(iscale * scales[j]));
            }
            y[i].d = f32_to_f16(max_scale / 15.f);
        } else {
            std::fill(y[i].scales, y[i].scales + 16, std::uint8_t(0));
            y[i].d = f32_to_f16(0.f);
        }
        if (max_min > 0) {
            const float iscale = 15.f / max_min;
            for (int j = 0; j < 16; ++j) {
                y[i].scales[j] |= std::uint8_t(nearest_int(iscale * mins[j]) << 4);
            }
            y[i].dmin = f32_to_f16(max_min / 15.f);
        } else {
            y[i].dmin = f32_to_f16(0.f);
        }
        for (int j = 0; j < 16; ++j) {
            const float d = f16_to_f32(y[i].d) * float(y[i].scales[j] & 0xF);
            if (d == 0) {
                continue;
            }
            const float dm = f16_to_f32(y[i].dmin) * float(y[i].scales[j] >> 4);
            for (int l = 0; l < 16; ++l) {
                L[16 * j + l] =
                    std::uint8_t(std::clamp(nearest_int((x[16 * j + l] + dm) / d), 0, 3));
            }
        }
        pack_2bit(L, y[i].qs);
    }
}

void q_q3_k(const float* x, block_q3_k* y, std::size_t nb) {
    std::int8_t L[256];
    float scales[16];
    for (std::size_t i = 0; i < nb; ++i, x += 256) {
        float max_scale = 0, amax = 0;
        for (int j = 0; j < 16; ++j) {
            scales[j] = q3_scale(16, 4, x + 16 * j, L + 16 * j);
            if (std::fabs(scales[j]) > amax) {
                amax = std::fabs(scales[j]);
                max_scale = scales[j];
            }
        }
        std::memset(y[i].scales, 0, 12);
        if (max_scale != 0) {
            const float iscale = -32.f / max_scale;
            for (int j = 0; j < 16; ++j) {
                int l = std::clamp(int(std::int8_t(nearest_int(iscale * scales[j]))), -32, 31) + 32;
                if (j < 8) {
                    y[i].scales[j] = std::uint8_t(l & 0xF);
                } else {
                    y[i].scales[j - 8] |= std::uint8_t((l & 0xF) << 4);
                }
                l >>= 4;
                y[i].scales[j % 4 + 8] |= std::uint8_t(l << (2 * (j / 4)));
            }
            y[i].d = f32_to_f16(1 / iscale);
        } else {
            y[i].d = f32_to_f16(0.f);
        }
        std::int8_t sc[16];
        q3_k_scales(y[i].scales, sc);
        for (int j = 0; j < 16; ++j) {
            const float d = f16_to_f32(y[i].d) * float(sc[j]);
            if (d == 0) {
                continue;
            }
            for (int l = 0; l < 16; ++l) {
                L[16 * j + l] = std::int8_t(std::clamp(nearest_int(x[16 * j + l] / d), -4, 3) + 4);
            }
        }
        std::memset(y[i].hmask, 0, 32);
        std::uint8_t U[256];
        int m = 0;
        std::uint8_t hm = 1;
        for (int j = 0; j < 256; ++j) {
            U[j] = std::uint8_t(L[j]);
            if (U[j] > 3) {
                y[i].hmask[m] |= hm;
                U[j] = std::uint8_t(U[j] - 4);
            }
            if (++m == 32) {
                m = 0;
                hm = std::uint8_t(hm << 1);
            }
        }
        pack_2bit(U, y[i].qs);
    }
}

// Q4_K and Q5_K: 8 sub-blocks of 32, asymmetric, 6-bit scales and mins.
template <bool Five, class B> void q_q45_k(const float* x, B* y, std::size_t nb) {
    constexpr int nmax = Five ? 31 : 15;
    std::uint8_t L[256];
    float weights[32], mins[8], scales[8];
    for (std::size_t i = 0; i < nb; ++i, x += 256) {
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < 8; ++j) {
            float sum_x2 = 0;
            for (int l = 0; l < 32; ++l) {
                sum_x2 += x[32 * j + l] * x[32 * j + l];
            }
            const float av_x = std::sqrt(sum_x2 / 32);
            for (int l = 0; l < 32; ++l) {
                weights[l] = av_x + std::fabs(x[32 * j + l]);
            }
            scales[j] = asym_scale(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j],
                                   Five ? -0.5f : -1.f, 0.1f, Five ? 15 : 20, false);
            max_scale = std::max(max_scale, scales[j]);
            max_min = std::max(max_min, mins[j]);
        }
        const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
        const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
        for (int j = 0; j < 8; ++j) {
            const auto ls =
                std::uint8_t(std::min(63, int(std::uint8_t(nearest_int(inv_scale * scales[j])))));
            const auto lm =
                std::uint8_t(std::min(63, int(std::uint8_t(nearest_int(inv_min * mins[j])))));
            if (j < 4) {
                y[i].scales[j] = ls;
                y[i].scales[j + 4] = lm;
            } else {
                y[i].scales[j + 4] = std::uint8_t((ls & 0xF) | ((lm & 0xF) << 4));
                y[i].scales[j - 4] |= std::uint8_t((ls >> 4) << 6);
                y[i].scales[j] |= std::uint8_t((lm >> 4) << 6);
            }
        }
        y[i].d = f32_to_f16(max_scale / 63.f);
        y[i].dmin = f32_to_f16(max_min / 63.f);
        for (int j = 0; j < 8; ++j) {
            std::uint8_t sc, m;
            k_scale_min(j, y[i].scales, sc, m);
            const float d = f16_to_f32(y[i].d) * float(sc);
            if (d == 0) {
                continue;
            }
            const float dm = f16_to_f32(y[i].dmin) * float(m);
            for (int l = 0; l < 32; ++l) {
                L[32 * j + l] =
                    std::uint8_t(std::clamp(nearest_int((x[32 * j + l] + dm) / d), 0, nmax));
            }
        }
        std::uint8_t* q = y[i].qs;
        if constexpr (Five) {
            std::memset(y[i].qh, 0, 32);
        }
        std::uint8_t m1 = 1, m2 = 2;
        for (int n = 0; n < 256; n += 64, q += 32) {
            for (int l = 0; l < 32; ++l) {
                int l1 = L[n + l], l2 = L[n + l + 32];
                if constexpr (Five) {
                    if (l1 > 15) {
                        l1 -= 16;
                        y[i].qh[l] |= m1;
                    }
                    if (l2 > 15) {
                        l2 -= 16;
                        y[i].qh[l] |= m2;
                    }
                }
                q[l] = std::uint8_t(l1 | (l2 << 4));
            }
            m1 = std::uint8_t(m1 << 2);
            m2 = std::uint8_t(m2 << 2);
        }
    }
}

void q_q6_k(const float* x, block_q6_k* y, std::size_t nb) {
    std::int8_t L[256];
    float scales[16];
    for (std::size_t i = 0; i < nb; ++i, x += 256) {
        float max_scale = 0, max_abs = 0;
        for (int ib = 0; ib < 16; ++ib) {
            scales[ib] = sym_scale(16, 32, x + 16 * ib, L + 16 * ib);
            if (std::fabs(scales[ib]) > max_abs) {
                max_abs = std::fabs(scales[ib]);
                max_scale = scales[ib];
            }
        }
        if (max_abs < group_max_eps) {
            std::memset(&y[i], 0, sizeof(block_q6_k));
            continue;
        }
        const float iscale = -128.f / max_scale;
        y[i].d = f32_to_f16(1 / iscale);
        for (int ib = 0; ib < 16; ++ib) {
            y[i].scales[ib] = std::int8_t(std::min(127, nearest_int(iscale * scales[ib])));
        }
        for (int j = 0; j < 16; ++j) {
            const float d = f16_to_f32(y[i].d) * float(y[i].scales[j]);
            if (d == 0) {
                continue;
            }
            for (int l = 0; l < 16; ++l) {
                L[16 * j + l] =
                    std::int8_t(std::clamp(nearest_int(x[16 * j + l] / d), -32, 31) + 32);
            }
        }
        std::uint8_t* ql = y[i].ql;
        std::uint8_t* qh = y[i].qh;
        for (int j = 0; j < 256; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; ++l) {
                const int a = L[j + l], b = L[j + l + 32], c = L[j + l + 64], d = L[j + l + 96];
                ql[l] = std::uint8_t((a & 0xF) | ((c & 0xF) << 4));
                ql[l + 32] = std::uint8_t((b & 0xF) | ((d & 0xF) << 4));
                qh[l] =
                    std::uint8_t((a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((d >> 4) << 6));
            }
        }
    }
}

} // namespace

void quantize_k_blocks(dtype t, const float* x, std::size_t nb, void* out) {
    switch (t) {
    case dtype::q2_k:
        return q_q2_k(x, static_cast<block_q2_k*>(out), nb);
    case dtype::q3_k:
        return q_q3_k(x, static_cast<block_q3_k*>(out), nb);
    case dtype::q4_k:
        return q_q45_k<false>(x, static_cast<block_q4_k*>(out), nb);
    case dtype::q5_k:
        return q_q45_k<true>(x, static_cast<block_q5_k*>(out), nb);
    case dtype::q6_k:
        return q_q6_k(x, static_cast<block_q6_k*>(out), nb);
    default:
        return;
    }
}

} // namespace radixrt::kernels
