#pragma once
// The Llama forward pass over a batch of sequences, each adding 1..N tokens
// at its own position with its own block table (paged KV).
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "runtime/ids.hpp"
#include "runtime/kv_storage.hpp"
#include "runtime/model.hpp"
#include "runtime/tokenizer.hpp"

namespace radixrt::runtime {

struct seq_step {
    std::span<const token_id> tokens;      // new tokens this step
    std::size_t n_past = 0;                // tokens of this sequence already in the cache
    std::span<const block_id> block_table; // covers n_past + tokens.size() positions
    bool all_logits = false;               // logits for every new token, not only the last
};

/// Runs forward steps; owns its scratch buffers, so one instance serves one
/// thread of control at a time. Weights are shared read-only.
class forward_pass {
  public:
    explicit forward_pass(std::shared_ptr<const model> m);

    /// Writes the new tokens' K/V into kv and returns logits (n_out, vocab):
    /// per sequence in order, its last token's row (or every new token's).
    /// Throws std::invalid_argument on a malformed batch.
    std::span<const float> run(std::span<const seq_step> batch, kv_storage& kv);

    const model& weights() const { return *model_; }

  private:
    void layer(std::size_t l, std::size_t rows, kv_storage& kv,
               std::span<const kernels::paged_seq> seqs);

    std::shared_ptr<const model> model_;
    std::vector<std::size_t> pos_; // (rows) position of each row
    std::vector<std::vector<std::int32_t>>
        tables_;                             // (seqs, blocks) the block tables as kernels take them
    std::vector<const std::int32_t*> table_; // (rows) block table of each row
    std::vector<float> x_, xb_, xb2_;        // (rows, dim)
    std::vector<float> q_, k_, v_,
        att_;                     // (rows, q_dim) (rows, kv_dim) (rows, kv_dim) (rows, q_dim)
    std::vector<float> hb_, hb2_; // (rows, ffn)
    std::vector<float> out_rows_, logits_; // (n_out, dim) (n_out, vocab)
};

} // namespace radixrt::runtime
