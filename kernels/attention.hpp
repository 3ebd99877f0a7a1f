#pragma once
// Paged attention: K and V of every token live in fixed-size blocks of a
// preallocated arena; a sequence is a table of block ids.
#include <cstddef>
#include <cstdint>
#include <span>

namespace radixrt::kernels {

/// One arena block holds (block_size, n_kv_heads, head_dim) elements of K
/// (and the same of V), F32 or IEEE half; block b starts at element
/// b * block_elems().
struct kv_layout {
    std::size_t block_size = 16;
    std::size_t n_kv_heads = 0;
    std::size_t head_dim = 0;
    bool f16 = false; // elements are IEEE half (llama.cpp's default KV type)

    std::size_t token_elems() const { return n_kv_heads * head_dim; }
    std::size_t block_elems() const { return block_size * token_elems(); }
    /// Offset of token `pos` of a sequence with this block table.
    std::size_t offset(const std::int32_t* table, std::size_t pos) const {
        return std::size_t(table[pos / block_size]) * block_elems() +
               (pos % block_size) * token_elems();
    }
};

/// One sequence of a batched call. Its n_new query tokens sit at positions
/// n_past .. n_past + n_new - 1 and their K/V are already in the arena.
struct paged_seq {
    const std::int32_t* block_table = nullptr;
    std::size_t n_past = 0;
    std::size_t n_new = 0;
    std::size_t q_row = 0; // first row of this sequence in q / out
};

/// out (rows, n_heads, head_dim) = causal softmax(q k^T * scale) v per head;
/// query head h reads KV head h / (n_heads / n_kv_heads) (GQA). Serves
/// prefill (n_new > 1, optionally after a cached prefix) and batched decode.
/// The arenas hold F32 or F16 elements as layout.f16 says.
void paged_attention(const float* q, float* out, std::span<const paged_seq> seqs,
                     const void* k_arena, const void* v_arena, const kv_layout& layout,
                     std::size_t n_heads, float scale);

struct attention_options {
    float scale = 1.0f;     // applied to each score (after the soft cap)
    float softcap = 0.0f;   // > 0: score = softcap * tanh(q.k / softcap) (Gemma 2)
    std::size_t window = 0; // > 0: a query at position p sees keys p - window + 1 .. p
};

/// The same with a soft cap and a sliding window. Windowed sequences still
/// address every key through their block table, so prefix sharing is exact.
void paged_attention(const float* q, float* out, std::span<const paged_seq> seqs,
                     const void* k_arena, const void* v_arena, const kv_layout& layout,
                     std::size_t n_heads, const attention_options& opt);

} // namespace radixrt::kernels
