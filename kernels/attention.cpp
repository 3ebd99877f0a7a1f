#include "kernels/attention.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/dtype.hpp"
#include "kernels/parallel.hpp"
#include "kernels/vec.hpp"

namespace radixrt::kernels {
namespace {

struct work_item {
    std::uint32_t seq;
    std::uint32_t token;
    std::uint32_t kv_head; // the query heads that read this KV head
};

float dot(const vec_ops& ops, const float* a, const float* b, std::size_t n) {
    return ops.dot(a, b, n);
}
void axpy(const vec_ops& ops, float a, const float* x, float* y, std::size_t n) {
    ops.axpy(a, x, y, n);
}

// One query token of one sequence, the query heads of one KV head (each
// head computed on its own, so the split changes no result); scores live
// in a per-thread scratch buffer.
template <class E>
void attend_token(const float* q, float* out, const paged_seq& s, std::size_t t,
                  std::size_t kv_head, const E* k_arena, const E* v_arena, const kv_layout& l,
                  std::size_t n_heads, const attention_options& opt, const vec_ops& ops,
                  std::vector<float>& scores) {
    const std::size_t hd = l.head_dim;
    const std::size_t n_ctx = s.n_past + t + 1;
    // A sliding window of w keys: the query at position p sees p - w + 1 .. p.
    const std::size_t first = opt.window != 0 && n_ctx > opt.window ? n_ctx - opt.window : 0;
    const std::size_t group = n_heads / l.n_kv_heads;
    scores.resize(n_ctx);
    const std::size_t row = s.q_row + t;
    // With F16 K/V, llama.cpp's matmuls see the query and the attention
    // weights in F16 too (F16 is the dot type of an F16 matrix): round them
    // the same way, so the two runtimes stay numerically close.
    constexpr bool half = std::is_same_v<E, std::uint16_t>;
    thread_local std::vector<float> qround;
    if constexpr (half) {
        qround.resize(hd);
    }
    const float cap_inv = opt.softcap > 0.0f ? 1.0f / opt.softcap : 0.0f;
    // Positions block by block: the arena offset of each block once, no
    // division per position.
    const std::size_t bs = l.block_size, te = l.token_elems(), be = l.block_elems();
    for (std::size_t h = kv_head * group; h < (kv_head + 1) * group; ++h) {
        const float* qh = q + (row * n_heads + h) * hd;
        if constexpr (half) {
            for (std::size_t i = 0; i < hd; ++i) {
                qround[i] = f16_to_f32(f32_to_f16(qh[i]));
            }
            qh = qround.data();
        }
        const std::size_t kvh = h / group;
        float mx = -INFINITY;
        for (std::size_t j0 = first - first % bs; j0 < n_ctx; j0 += bs) {
            const std::size_t lo = std::max(j0, first), hi = std::min(n_ctx, j0 + bs);
            const E* kb =
                k_arena + std::size_t(s.block_table[j0 / bs]) * be + kvh * hd + (lo - j0) * te;
            if constexpr (half) {
                ops.dot_rows_h(qh, kb, te, hi - lo, hd, scores.data() + lo);
            } else {
                for (std::size_t j = lo; j < hi; ++j) {
                    scores[j] = dot(ops, qh, kb + (j - lo) * te, hd);
                }
            }
            for (std::size_t j = lo; j < hi; ++j) {
                // llama.cpp caps the raw scores, then scales them in softmax
                float v = scores[j];
                if (cap_inv != 0.0f) {
                    v = std::tanh(v * cap_inv) * opt.softcap;
                }
                scores[j] = v * opt.scale;
                mx = std::max(mx, scores[j]);
            }
        }
        float sum = 0.0f;
        for (std::size_t j = first; j < n_ctx; ++j) {
            scores[j] = std::exp(scores[j] - mx);
            sum += scores[j];
        }
        float* oh = out + (row * n_heads + h) * hd;
        std::fill(oh, oh + hd, 0.0f);
        const float inv = 1.0f / sum;
        for (std::size_t j0 = first - first % bs; j0 < n_ctx; j0 += bs) {
            const std::size_t lo = std::max(j0, first), hi = std::min(n_ctx, j0 + bs);
            const E* vb =
                v_arena + std::size_t(s.block_table[j0 / bs]) * be + kvh * hd + (lo - j0) * te;
            if constexpr (half) {
                for (std::size_t j = lo; j < hi; ++j) {
                    scores[j] = f16_to_f32(f32_to_f16(scores[j] * inv));
                }
                ops.axpy_rows_h(scores.data() + lo, vb, te, hi - lo, hd, oh);
            } else {
                for (std::size_t j = lo; j < hi; ++j) {
                    axpy(ops, scores[j] * inv, vb + (j - lo) * te, oh, hd);
                }
            }
        }
    }
}

} // namespace

void paged_attention(const float* q, float* out, std::span<const paged_seq> seqs,
                     const void* k_arena, const void* v_arena, const kv_layout& layout,
                     std::size_t n_heads, float scale) {
    paged_attention(q, out, seqs, k_arena, v_arena, layout, n_heads, attention_options{scale});
}

void paged_attention(const float* q, float* out, std::span<const paged_seq> seqs,
                     const void* k_arena, const void* v_arena, const kv_layout& layout,
                     std::size_t n_heads, const attention_options& opt) {
    std::vector<work_item> items;
    std::size_t work = 0; // ~ key reads, to size the grain
    for (std::size_t s = 0; s < seqs.size(); ++s) {
        for (std::size_t t = 0; t < seqs[s].n_new; ++t) {
            for (std::size_t g = 0; g < layout.n_kv_heads; ++g) {
                items.push_back({std::uint32_t(s), std::uint32_t(t), std::uint32_t(g)});
            }
            work += (seqs[s].n_past + t + 1) * layout.n_kv_heads;
        }
    }
    if (items.empty()) {
        return;
    }
    const std::size_t per_item = std::max<std::size_t>(1, work * (n_heads / layout.n_kv_heads) *
                                                              layout.head_dim / items.size());
    // ~128k multiply-adds per task, but at least four tasks when there are
    // items for them (a decode step has only one item per KV head).
    const std::size_t grain =
        std::max<std::size_t>(1, std::min((1u << 17) / per_item, items.size() / 4));
    const vec_ops& ops = active_vec_ops();
    parallel_for(0, items.size(), grain, [&](std::size_t b, std::size_t e) {
        thread_local std::vector<float> scores;
        for (std::size_t i = b; i < e; ++i) {
            const auto& s = seqs[items[i].seq];
            if (layout.f16) {
                attend_token(q, out, s, items[i].token, items[i].kv_head,
                             static_cast<const std::uint16_t*>(k_arena),
                             static_cast<const std::uint16_t*>(v_arena), layout, n_heads, opt, ops,
                             scores);
            } else {
                attend_token(q, out, s, items[i].token, items[i].kv_head,
                             static_cast<const float*>(k_arena), static_cast<const float*>(v_arena),
                             layout, n_heads, opt, ops, scores);
            }
        }
    });
}

} // namespace radixrt::kernels
