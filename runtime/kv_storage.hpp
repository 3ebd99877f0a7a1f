#pragma once
// The paged KV arena: per layer, n_blocks blocks of (block_size, n_kv_heads,
// head_dim) floats for K and the same for V, allocated once.
#include <cstddef>
#include <memory>
#include <vector>

#include "kernels/attention.hpp"
#include "runtime/model.hpp"

namespace radixrt::runtime {

class kv_storage {
  public:
    kv_storage(const llama_config& cfg, std::size_t n_blocks, std::size_t block_size = 16);

    std::size_t n_blocks() const { return n_blocks_; }
    std::size_t block_size() const { return layout_.block_size; }
    const kernels::kv_layout& layout() const { return layout_; }
    /// Bytes of K+V that one token takes over all layers.
    std::size_t bytes_per_token() const {
        return 2 * layers_ * layout_.token_elems() * sizeof(float);
    }
    std::size_t bytes() const { return bytes_per_token() * n_blocks_ * layout_.block_size; }

    float* k(std::size_t layer) { return k_[layer].get(); }
    float* v(std::size_t layer) { return v_[layer].get(); }

    /// Blocks that `bytes` of arena hold for this model, at least 1.
    static std::size_t blocks_for_bytes(const llama_config& cfg, std::size_t bytes,
                                        std::size_t block_size);

  private:
    std::size_t layers_;
    std::size_t n_blocks_;
    kernels::kv_layout layout_;
    std::vector<std::unique_ptr<float[]>> k_, v_;
};

} // namespace radixrt::runtime
