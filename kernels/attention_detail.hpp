#pragma once
// What the per-ISA bodies of paged attention share (kernels/attention.cpp
// plans the work; kernels/detail/attention_body.hpp computes it).
#include <cstddef>
#include <cstdint>
#include <utility>

#include "kernels/attention.hpp"
#include "kernels/detail/exp_double.hpp"

namespace radixrt::kernels::detail {

struct attn_args {
    const float* q;
    float* out;
    const paged_seq* seqs;
    const void* k_arena;
    const void* v_arena;
    kv_layout layout;
    std::size_t n_heads;
    attention_options opt;
};

/// Query tokens t0 .. t0 + nt - 1 of sequence `seq`, the query heads that
/// read KV head kv_head; pair: one decode token of a model without GQA
/// against KV heads kv_head and kv_head + 1 (one pass over its tokens).
struct attn_item {
    std::uint32_t seq, t0, nt, kv_head;
    bool pair = false;
};

using attend_fn = void (*)(const attn_args& a, const attn_item* items, std::size_t count);
attend_fn attend_portable();
attend_fn attend_avx2();
attend_fn attend_avx512();

} // namespace radixrt::kernels::detail
