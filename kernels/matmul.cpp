#include "kernels/matmul.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <vector>

#include "kernels/cpu.hpp"
#include "kernels/gemm.hpp"
#include "kernels/parallel.hpp"
#include "kernels/qdot.hpp"

namespace radixrt::kernels {

void matmul(const float* x, std::size_t n, const weight_view& w, float* y) {
    if (is_quantized(w.type)) {
        detail::matmul_quantized(x, n, w, y, active_isa());
        return;
    }
    const matmul_job job{&w, y};
    detail::gemm_many(x, n, {&job, 1}, active_isa());
}

void matmul_many(const float* x, std::size_t n, std::span<const matmul_job> jobs) {
    bool all_quantized = !jobs.empty(), all_float = !jobs.empty();
    for (const auto& j : jobs) {
        const bool same_k = j.w->cols == jobs[0].w->cols;
        all_quantized = all_quantized && is_quantized(j.w->type) && same_k;
        all_float = all_float && !is_quantized(j.w->type) && same_k;
    }
    if (all_quantized) {
        detail::matmul_quantized_many(x, n, jobs, active_isa());
        return;
    }
    if (all_float) {
        detail::gemm_many(x, n, jobs, active_isa());
        return;
    }
    for (const auto& j : jobs) {
        matmul(x, n, *j.w, j.y);
    }
}

namespace detail {

namespace {
// Regions of the scratch start at multiples of 64 bytes: the prep data holds
// floats and int32s, and the activation blocks before it are 34 or 36 bytes.
std::size_t align_up(std::size_t bytes) {
    return (bytes + 63) / 64 * 64;
}
} // namespace

// Quantized weights: every input row is quantized once to the activation
// blocks of the weight type, then each output is one integer dot product
// of a weight row with an input row. Tiles of 16 weight rows stay in L1
// while the input rows stream past them; where the level has a tile kernel
// (Q8_0 and Q4_0 with AVX-512 VNNI), 4 x 4 blocks of weight and input rows
// go through it, with the same result per output as the row kernel. An
// output depends only on its weight row and its input row, so results are
// batch invariant. Several weights sharing the input run in one parallel
// loop (fewer wake-ups of the worker threads, which dominate a decode step
// of a small model).
void matmul_quantized_many(const float* x, std::size_t n, std::span<const matmul_job> jobs,
                           isa level) {
    const std::size_t k = jobs[0].w->cols;
    constexpr int kinds = 3;
    // The calling thread's scratch, one region per activation kind used;
    // workers reach it through these pointers (a thread_local named inside
    // the lambda would be each worker's own).
    thread_local std::vector<unsigned char> scratch;
    std::size_t offset[kinds] = {}, bytes[kinds] = {}, total = 0;
    dtype of_kind[kinds] = {};
    for (const auto& j : jobs) {
        const int a = activation_kind(j.w->type);
        if (bytes[a] == 0) {
            bytes[a] = activation_row_bytes(j.w->type, k);
            of_kind[a] = j.w->type;
            offset[a] = total;
            total = align_up(total + n * bytes[a]);
        }
    }
    // The tile kernels' data per input row, one region per weight type with tiles.
    struct prep_region {
        dtype type;
        std::size_t offset, bytes;
    };
    std::array<prep_region, 4> preps{};
    std::size_t prep_count = 0;
    if (n >= qtile_a) {
        for (const auto& j : jobs) {
            const dtype t = j.w->type;
            if (qtile_kernel(t, level) == nullptr ||
                std::any_of(preps.begin(), preps.begin() + std::ptrdiff_t(prep_count),
                            [&](const prep_region& p) { return p.type == t; })) {
                continue;
            }
            assert(prep_count < preps.size());
            preps[prep_count++] = {t, total, qtile_prep_bytes(t, k)};
            total = align_up(total + n * qtile_prep_bytes(t, k));
        }
    }
    scratch.resize(total);
    unsigned char* const base = scratch.data();
    for (int a = 0; a < kinds; ++a) {
        if (bytes[a] == 0) {
            continue;
        }
        parallel_for(
            0, n, std::max<std::size_t>(1, (1u << 16) / k), [&](std::size_t b, std::size_t e) {
                for (std::size_t r = b; r < e; ++r) {
                    quantize_activations(of_kind[a], x + r * k, k, base + offset[a] + r * bytes[a],
                                         level);
                }
                for (std::size_t p = 0; p < prep_count; ++p) {
                    const dtype t = preps[p].type;
                    if (activation_kind(t) == a) {
                        qtile_prepare(t, base + offset[a] + b * bytes[a], bytes[a], e - b, k,
                                      base + preps[p].offset + b * preps[p].bytes, preps[p].bytes);
                    }
                }
            });
    }
    constexpr std::size_t tile = 16;
    std::vector<std::size_t> first_tile; // per job, its first index in the joint tile range
    std::size_t tiles = 0, rows = 0;
    for (const auto& j : jobs) {
        first_tile.push_back(tiles);
        tiles += (j.w->rows + tile - 1) / tile;
        rows += j.w->rows;
    }
    // ~256k multiply-adds per task, and at least 8 tasks when there is work for them.
    const std::size_t grain =
        std::max<std::size_t>(1, std::min(tiles / 8, (1u << 18) / (tile * k * n)));
    parallel_for(0, tiles, grain, [&](std::size_t b, std::size_t e) {
        std::size_t jb = std::size_t(std::upper_bound(first_tile.begin(), first_tile.end(), b) -
                                     first_tile.begin()) -
                         1;
        for (std::size_t t = b; t < e; ++t) {
            while (jb + 1 < jobs.size() && t >= first_tile[jb + 1]) {
                ++jb;
            }
            const weight_view& w = *jobs[jb].w;
            const int a = activation_kind(w.type);
            const unsigned char* act = base + offset[a];
            const qdot_fn dot = qdot_kernel(w.type, level);
            const std::size_t stride = row_bytes(w.type, k);
            const auto* wdata = static_cast<const unsigned char*>(w.data);
            const std::size_t o0 = (t - first_tile[jb]) * tile, o1 = std::min(w.rows, o0 + tile);
            const qtile_fn tile_dot = qtile_kernel(w.type, level);
            const prep_region* prep = nullptr;
            for (std::size_t p = 0; p < prep_count; ++p) {
                prep = preps[p].type == w.type ? &preps[p] : prep;
            }
            float* const y = jobs[jb].y;
            // Up to four input rows per weight row: the weight is unpacked once for them.
            // Where a tile kernel exists, whole tiles of weight and input rows go through it
            // (the same result per output as the row kernel).
            float out[qdot_max_rows];
            static_assert(qtile_a == qdot_max_rows);
            for (std::size_t r = 0; r < n; r += qdot_max_rows) {
                const std::size_t m = std::min(qdot_max_rows, n - r);
                std::size_t o = o0;
                if (prep != nullptr && m == qtile_a) {
                    for (; o + qtile_w <= o1; o += qtile_w) {
                        tile_dot(wdata + o * stride, stride, act + r * bytes[a], bytes[a],
                                 base + prep->offset + r * prep->bytes, prep->bytes, k,
                                 y + r * w.rows + o, w.rows);
                    }
                }
                for (; o < o1; ++o) {
                    dot(wdata + o * stride, act + r * bytes[a], bytes[a], m, k, out);
                    for (std::size_t i = 0; i < m; ++i) {
                        y[(r + i) * w.rows + o] = out[i];
                    }
                }
            }
        }
    });
    (void)rows;
}

void matmul_quantized(const float* x, std::size_t n, const weight_view& w, float* y, isa level) {
    const matmul_job job{&w, y};
    matmul_quantized_many(x, n, {&job, 1}, level);
}

} // namespace detail
} // namespace radixrt::kernels
