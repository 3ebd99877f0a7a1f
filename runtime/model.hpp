#pragma once
// A decoder-only transformer of one of the supported GGUF architectures
// (llama, qwen2, phi3, gemma2): hyper-parameters from GGUF metadata, a
// description of how the architecture differs from Llama (llama_config's
// architecture fields, read by the one forward pass), and read-only views of
// its weights, read in place from the GGUF image.
#include <memory>
#include <string>
#include <vector>

#include "kernels/gemm.hpp"
#include "kernels/matmul.hpp"
#include "kernels/ops.hpp"
#include "runtime/gguf.hpp"

namespace radixrt::runtime {

enum class ffn_activation { silu, gelu_tanh };

struct llama_config {
    std::string arch = "llama"; // general.architecture
    std::size_t dim = 0;        // embedding length
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
    float rope_freq_scale = 1.0f;  // 1 / linear rope scaling factor
    std::vector<float> rope_freqs; // rope_dim / 2 frequency factors (rope_freqs.weight) or empty

    // How the architecture departs from Llama.
    bool qkv_bias = false;                     // qwen2: Q/K/V biases
    bool post_norms = false;                   // gemma2: RMSNorm after attention and after the FFN
    ffn_activation act = ffn_activation::silu; // the gate's activation
    float embd_scale = 0.0f;                   // gemma2: embeddings times sqrt(dim); 0 = none
    float q_scale = 0.0f;       // > 0: Q scaled before attention (phi3, gemma2), else scores
    float attn_softcap = 0.0f;  // gemma2: attention logit soft-cap
    float final_softcap = 0.0f; // gemma2: output logit soft-cap
    std::size_t swa_window = 0; // sliding-window size, 0 = none
    std::size_t swa_period = 1; // layer l slides when l % period < period - 1 (or period 1)

    /// Keys a query of layer l attends to (0 = all).
    std::size_t window(std::size_t l) const {
        if (swa_window == 0) {
            return 0;
        }
        return swa_period <= 1 || l % swa_period < swa_period - 1 ? swa_window : 0;
    }

    std::size_t q_dim() const { return n_heads * head_dim; }
    std::size_t kv_dim() const { return n_kv_heads * head_dim; }
};

struct layer_weights {
    std::vector<float> attn_norm;        // (dim)
    kernels::weight_view wq, wk, wv, wo; // (q_dim, dim) (kv_dim, dim) (kv_dim, dim) (dim, q_dim)
    std::vector<float> bq, bk, bv;       // biases (qkv_bias) or empty
    std::vector<float> post_attn_norm;   // (dim) post_norms only
    std::vector<float> ffn_norm;         // (dim)
    kernels::weight_view w_gate, w_up, w_down; // (ffn, dim) (ffn, dim) (dim, ffn)
    std::vector<float> post_ffn_norm;          // (dim) post_norms only
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
    /// Repacks every F32/F16/BF16 matrix into GEMM panels (kernels/gemm.hpp)
    /// and attaches them to its view.
    void pack_float_weights();

    gguf_file file_;
    std::string name_;
    llama_config cfg_;
    kernels::weight_view token_embd_, output_;
    std::vector<float> output_norm_;
    std::vector<layer_weights> layers_;
    std::vector<kernels::packed_weights> packed_; // the panels the views point to
};

} // namespace radixrt::runtime
