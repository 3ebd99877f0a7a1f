#pragma once
// What the per-ISA bodies of paged attention share (kernels/attention.cpp
// plans the work; kernels/detail/attention_body.hpp computes it).
#include <cstddef>
#include <cstdint>

#include "kernels/attention.hpp"

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
/// read KV head kv_head.
struct attn_item {
    std::uint32_t seq, t0, nt, kv_head;
};

/// 1/10!, 1/9!, ..., 1/0!: the Taylor coefficients of e^r after 1/11!.
inline constexpr double exp_taylor[] = {1.0 / 3628800, 1.0 / 362880, 1.0 / 40320, 1.0 / 5040,
                                        1.0 / 720,     1.0 / 120,    1.0 / 24,    1.0 / 6,
                                        1.0 / 2,       1.0,          1.0};

using attend_fn = void (*)(const attn_args& a, const attn_item* items, std::size_t count);
attend_fn attend_portable();
attend_fn attend_avx2();
attend_fn attend_avx512();

} // namespace radixrt::kernels::detail
