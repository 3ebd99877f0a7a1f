#pragma once
// The paged KV arena: per layer, n_blocks blocks of (block_size, n_kv_heads,
// head_dim) elements for K and the same for V, allocated once. Elements are
// IEEE half (the default, as llama.cpp) or F32.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "kernels/attention.hpp"
#include "runtime/model.hpp"

namespace radixrt::runtime {

enum class kv_type { f16, f32 };

/// "f16" or "f32"; false for anything else.
bool parse_kv_type(std::string_view s, kv_type& out);
std::string_view to_string(kv_type t);

class kv_storage {
  public:
    kv_storage(const llama_config& cfg, std::size_t n_blocks, std::size_t block_size = 16,
               kv_type type = kv_type::f16);

    std::size_t n_blocks() const { return n_blocks_; }
    std::size_t block_size() const { return layout_.block_size; }
    kv_type type() const { return type_; }
    const kernels::kv_layout& layout() const { return layout_; }
    /// Bytes of K+V that one token takes over all layers.
    std::size_t bytes_per_token() const { return bytes_per_token(layers_, layout_, type_); }
    std::size_t bytes() const { return bytes_per_token() * n_blocks_ * layout_.block_size; }
    std::size_t capacity_tokens() const { return n_blocks_ * layout_.block_size; }

    void* k(std::size_t layer) { return k_[layer].get(); }
    void* v(std::size_t layer) { return v_[layer].get(); }
    /// Stores one token's K or V row (token_elems floats) at element offset off.
    void store(void* arena, std::size_t off, const float* row) const;

    /// Blocks that `bytes` of arena hold for this model, at least 1.
    static std::size_t blocks_for_bytes(const llama_config& cfg, std::size_t bytes,
                                        std::size_t block_size, kv_type type = kv_type::f16);

  private:
    static std::size_t bytes_per_token(std::size_t layers, const kernels::kv_layout& l, kv_type t) {
        return 2 * layers * l.token_elems() * (t == kv_type::f16 ? 2 : 4);
    }

    std::size_t layers_;
    std::size_t n_blocks_;
    kv_type type_;
    kernels::kv_layout layout_;
    std::vector<std::unique_ptr<unsigned char[]>> k_, v_;
};

} // namespace radixrt::runtime
