#include "runtime/kv_storage.hpp"

#include <algorithm>
#include <stdexcept>

#include "kernels/dtype.hpp"

namespace radixrt::runtime {

bool parse_kv_type(std::string_view s, kv_type& out) {
    if (s == "f16") {
        out = kv_type::f16;
        return true;
    }
    if (s == "f32") {
        out = kv_type::f32;
        return true;
    }
    return false;
}

std::string_view to_string(kv_type t) {
    return t == kv_type::f16 ? "f16" : "f32";
}

kv_storage::kv_storage(const llama_config& cfg, std::size_t n_blocks, std::size_t block_size,
                       kv_type type)
    : layers_(cfg.n_layers), n_blocks_(n_blocks),
      type_(type), layout_{block_size, cfg.n_kv_heads, cfg.head_dim, type == kv_type::f16} {
    if (n_blocks == 0 || block_size == 0) {
        throw std::invalid_argument("kv_storage needs at least one block of at least one token");
    }
    const std::size_t bytes = n_blocks * layout_.block_elems() * (type == kv_type::f16 ? 2 : 4);
    for (std::size_t l = 0; l < layers_; ++l) {
        // Uninitialised on purpose: a slot is always written before it is read.
        k_.push_back(std::make_unique_for_overwrite<unsigned char[]>(bytes));
        v_.push_back(std::make_unique_for_overwrite<unsigned char[]>(bytes));
    }
}

void kv_storage::store(void* arena, std::size_t off, const float* row) const {
    const std::size_t n = layout_.token_elems();
    if (type_ == kv_type::f32) {
        std::copy_n(row, n, static_cast<float*>(arena) + off);
        return;
    }
    kernels::quantize_row(kernels::dtype::f16, row, n, static_cast<std::uint16_t*>(arena) + off);
}

std::size_t kv_storage::blocks_for_bytes(const llama_config& cfg, std::size_t bytes,
                                         std::size_t block_size, kv_type type) {
    const kernels::kv_layout l{block_size, cfg.n_kv_heads, cfg.head_dim, type == kv_type::f16};
    const std::size_t per_block = bytes_per_token(cfg.n_layers, l, type) * block_size;
    return std::max<std::size_t>(1, bytes / per_block);
}

} // namespace radixrt::runtime
