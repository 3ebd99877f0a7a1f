#include "kernels/attention.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/parallel.hpp"
#include "kernels/vec.hpp"

namespace radixrt::kernels {
namespace {

struct work_item {
    std::uint32_t seq;
    std::uint32_t token;
};

// One query token of one sequence, all its heads: the KV rows of a group are
// read once per query head; scores live in a per-thread scratch buffer.
void attend_token(const float* q, float* out, const paged_seq& s, std::size_t t,
                  const float* k_arena, const float* v_arena, const kv_layout& l,
                  std::size_t n_heads, float scale, const vec_ops& ops,
                  std::vector<float>& scores) {
    const std::size_t hd = l.head_dim;
    const std::size_t n_ctx = s.n_past + t + 1;
    const std::size_t group = n_heads / l.n_kv_heads;
    scores.resize(n_ctx);
    const std::size_t row = s.q_row + t;
    for (std::size_t h = 0; h < n_heads; ++h) {
        const float* qh = q + (row * n_heads + h) * hd;
        const std::size_t kvh = h / group;
        float mx = -INFINITY;
        for (std::size_t j = 0; j < n_ctx; ++j) {
            scores[j] = ops.dot(qh, k_arena + l.offset(s.block_table, j) + kvh * hd, hd) * scale;
            mx = std::max(mx, scores[j]);
        }
        float sum = 0.0f;
        for (std::size_t j = 0; j < n_ctx; ++j) {
            scores[j] = std::exp(scores[j] - mx);
            sum += scores[j];
        }
        float* oh = out + (row * n_heads + h) * hd;
        std::fill(oh, oh + hd, 0.0f);
        const float inv = 1.0f / sum;
        for (std::size_t j = 0; j < n_ctx; ++j) {
            ops.axpy(scores[j] * inv, v_arena + l.offset(s.block_table, j) + kvh * hd, oh, hd);
        }
    }
}

} // namespace

void paged_attention(const float* q, float* out, std::span<const paged_seq> seqs,
                     const float* k_arena, const float* v_arena, const kv_layout& layout,
                     std::size_t n_heads, float scale) {
    std::vector<work_item> items;
    std::size_t work = 0; // ~ key reads, to size the grain
    for (std::size_t s = 0; s < seqs.size(); ++s) {
        for (std::size_t t = 0; t < seqs[s].n_new; ++t) {
            items.push_back({std::uint32_t(s), std::uint32_t(t)});
            work += seqs[s].n_past + t + 1;
        }
    }
    if (items.empty()) {
        return;
    }
    const std::size_t per_item =
        std::max<std::size_t>(1, work * n_heads * layout.head_dim / items.size());
    const std::size_t grain = std::max<std::size_t>(1, (1u << 17) / per_item);
    const vec_ops& ops = active_vec_ops();
    parallel_for(0, items.size(), grain, [&](std::size_t b, std::size_t e) {
        thread_local std::vector<float> scores;
        for (std::size_t i = b; i < e; ++i) {
            attend_token(q, out, seqs[items[i].seq], items[i].token, k_arena, v_arena, layout,
                         n_heads, scale, ops, scores);
        }
    });
}

} // namespace radixrt::kernels
