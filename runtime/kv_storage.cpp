#include "runtime/kv_storage.hpp"

#include <algorithm>
#include <stdexcept>

namespace radixrt::runtime {

kv_storage::kv_storage(const llama_config& cfg, std::size_t n_blocks, std::size_t block_size)
    : layers_(cfg.n_layers),
      n_blocks_(n_blocks), layout_{block_size, cfg.n_kv_heads, cfg.head_dim} {
    if (n_blocks == 0 || block_size == 0) {
        throw std::invalid_argument("kv_storage needs at least one block of at least one token");
    }
    for (std::size_t l = 0; l < layers_; ++l) {
        // Uninitialised on purpose: a slot is always written before it is read.
        k_.push_back(std::make_unique_for_overwrite<float[]>(n_blocks * layout_.block_elems()));
        v_.push_back(std::make_unique_for_overwrite<float[]>(n_blocks * layout_.block_elems()));
    }
}

std::size_t kv_storage::blocks_for_bytes(const llama_config& cfg, std::size_t bytes,
                                         std::size_t block_size) {
    const std::size_t per_block = 2 * cfg.n_layers * cfg.kv_dim() * sizeof(float) * block_size;
    return std::max<std::size_t>(1, bytes / per_block);
}

} // namespace radixrt::runtime
