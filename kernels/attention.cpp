#include "kernels/attention.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/attention_detail.hpp"
#include "kernels/cpu.hpp"
#include "kernels/dtype.hpp"
#include "kernels/parallel.hpp"

namespace radixrt::kernels {
namespace detail {
namespace {

// One lane: the body's loops become the scalar loops of the reference, in
// the same orders.
struct portable_ops {
    using vec = float;
    static constexpr std::size_t width = 1;
    static constexpr std::size_t chains = 8;
    static vec zero() { return 0.0f; }
    static vec set1(float f) { return f; }
    static vec load(const float* p) { return *p; }
    static vec load(const std::uint16_t* p) { return f16_to_f32(*p); }
    template <class E> static vec load_n(const E* p, std::size_t) { return load(p); }
    static vec load_n_fill(const float* p, std::size_t, float) { return *p; }
    static void store(float* p, vec v) { *p = v; }
    static void store_n(float* p, vec v, std::size_t) { *p = v; }
    static vec fma(vec a, vec b, vec c) { return a * b + c; }
    static vec mul(vec a, vec b) { return a * b; }
    static vec add(vec a, vec b) { return a + b; }
    static vec sub(vec a, vec b) { return a - b; }
    static vec max(vec a, vec b) { return std::max(a, b); }
    static float hsum(vec v) { return v; }
    static float hmax(vec v) { return v; }
    static vec exp(vec x) { return std::exp(x); }
    static vec round_h(vec v) { return f16_to_f32(f32_to_f16(v)); }
    static vec reduce(const vec* v) { return v[0]; }
};

#include "kernels/detail/attention_body.hpp"

attend_fn attend_for(isa level) {
    switch (level) {
    case isa::avx512:
        return attend_avx512();
    case isa::avx2:
        return attend_avx2();
    case isa::scalar:
        break;
    }
    return attend_items<portable_ops>;
}

} // namespace

attend_fn attend_portable() {
    return attend_items<portable_ops>;
}

} // namespace detail

void paged_attention(const float* q, float* out, std::span<const paged_seq> seqs,
                     const void* k_arena, const void* v_arena, const kv_layout& layout,
                     std::size_t n_heads, float scale) {
    paged_attention(q, out, seqs, k_arena, v_arena, layout, n_heads, attention_options{scale});
}

// Work items of up to 32 query tokens x one KV head: the query block's
// rows share one conversion of the keys and values they read. Decode
// tokens of models without GQA go two KV heads per item instead.
void paged_attention(const float* q, float* out, std::span<const paged_seq> seqs,
                     const void* k_arena, const void* v_arena, const kv_layout& layout,
                     std::size_t n_heads, const attention_options& opt) {
    constexpr std::size_t block = 32;
    std::vector<detail::attn_item> items;
    std::size_t work = 0; // ~ key reads, to size the grain
    for (std::size_t s = 0; s < seqs.size(); ++s) {
        for (std::size_t t = 0; t < seqs[s].n_new; t += block) {
            const std::size_t nt = std::min(block, seqs[s].n_new - t);
            // A decode token without GQA reads its KV heads two at a time.
            const bool pairs = nt == 1 && n_heads == layout.n_kv_heads;
            for (std::size_t g = 0; g < layout.n_kv_heads;) {
                const bool pair = pairs && g + 1 < layout.n_kv_heads;
                items.push_back({std::uint32_t(s), std::uint32_t(t), std::uint32_t(nt),
                                 std::uint32_t(g), pair});
                g += pair ? 2 : 1;
            }
            work += nt * (seqs[s].n_past + t + nt) * layout.n_kv_heads;
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
    const detail::attn_args args{q, out, seqs.data(), k_arena, v_arena, layout, n_heads, opt};
    const detail::attend_fn attend = detail::attend_for(active_isa());
    parallel_for(0, items.size(), grain,
                 [&](std::size_t b, std::size_t e) { attend(args, items.data() + b, e - b); });
}

} // namespace radixrt::kernels
