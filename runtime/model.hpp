#pragma once
// A Llama-architecture model: hyper-parameters from GGUF metadata and
// read-only views of its weights, read in place from the GGUF image.
#include <memory>
#include <string>
#include <vector>

#include "kernels/matmul.hpp"
#include "kernels/ops.hpp"
#include "runtime/gguf.hpp"

namespace radixrt::runtime {

struct llama_config {
    std::size_t dim = 0; // embedding length
    std::size_t n_layers = 0;
    std::size_t n_heads = 0;
    std::size_t n_kv_heads = 0; // GQA when < n_heads
    std::size_t head_dim = 0;   // dim / n_heads
    std::size_t ffn_dim = 0;
    std::size_t vocab_size = 0;
    std::size_t context_length = 0;
    float rms_eps = 1e-5f;
    float rope_base = 10000.0f;
    std::size_t rope_dim = 0;
    kernels::rope_style rope = kernels::rope_style::normal;

    std::size_t q_dim() const { return n_heads * head_dim; }
    std::size_t kv_dim() const { return n_kv_heads * head_dim; }
};

struct layer_weights {
    std::vector<float> attn_norm;        // (dim)
    kernels::weight_view wq, wk, wv, wo; // (q_dim, dim) (kv_dim, dim) (kv_dim, dim) (dim, q_dim)
    std::vector<float> ffn_norm;         // (dim)
    kernels::weight_view w_gate, w_up, w_down; // (ffn, dim) (ffn, dim) (dim, ffn)
};

class model {
  public:
    /// Loads a GGUF file (mmap). Throws gguf_error with a clear message for a
    /// corrupt file, an unsupported architecture or tensor type, or a shape
    /// that disagrees with the metadata.
    static std::shared_ptr<const model> load(const std::string& path);
    static std::shared_ptr<const model> from_gguf(gguf_file file, std::string name);

    const llama_config& config() const { return cfg_; }
    const gguf_file& file() const { return file_; }
    const std::string& name() const { return name_; }

    const kernels::weight_view& token_embd() const { return token_embd_; } // (vocab, dim)
    const kernels::weight_view& output() const { return output_; }         // (vocab, dim)
    const std::vector<float>& output_norm() const { return output_norm_; }
    const std::vector<layer_weights>& layers() const { return layers_; }
    /// Bytes of weight data.
    std::size_t weight_bytes() const;

  private:
    gguf_file file_;
    std::string name_;
    llama_config cfg_;
    kernels::weight_view token_embd_, output_;
    std::vector<float> output_norm_;
    std::vector<layer_weights> layers_;
};

} // namespace radixrt::runtime
