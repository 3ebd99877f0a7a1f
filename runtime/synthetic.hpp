#pragma once
// Synthetic Llama models: seeded random weights written as a GGUF image, so
// the built-in model and `radixrt model synth` files load through exactly the
// same path as any downloaded model.
#include <memory>
#include <string>
#include <string_view>

#include "kernels/dtype.hpp"
#include "runtime/gguf.hpp"
#include "runtime/model.hpp"

namespace radixrt::runtime {

struct synth_spec {
    std::size_t dim = 256;
    std::size_t n_layers = 4;
    std::size_t n_heads = 8;
    std::size_t n_kv_heads = 4;
    std::size_t ffn_dim = 768;
    std::size_t vocab_size = 0; // 0: the tokenizer's size
    std::size_t context_length = 2048;
    kernels::dtype type = kernels::dtype::f16;
    std::uint64_t seed = 42;
    std::string vocab_from; // a GGUF whose tokenizer.* metadata is copied; empty: byte-level
    std::string name = "radixrt-synthetic";
};

/// Presets: tiny (dim 64, 2 layers), small (the built-in model: dim 256,
/// 4 layers, GQA 8/4), 110m (dim 768, 12 layers, 32000 vocab, Llama-2 110M
/// shape). Throws std::invalid_argument for an unknown name.
synth_spec synth_preset(std::string_view name);

/// Builds the GGUF image. Throws std::invalid_argument on an impossible
/// shape, gguf_error if vocab_from cannot be read.
gguf_writer synth_gguf(const synth_spec& spec);

/// The Jinja chat template written into byte-level vocabularies (ChatML,
/// with tools and tool calls in the Hermes / Qwen2.5 style).
std::string_view byte_vocab_chat_template();

/// Control and user-defined tokens of the byte-level vocabulary, after the
/// demo words: ChatML's turn markers and the tool-call tags.
inline constexpr const char* byte_vocab_special_tokens[] = {"<|im_start|>",    "<|im_end|>",
                                                            "<tool_call>",     "</tool_call>",
                                                            "<tool_response>", "</tool_response>"};

/// The built-in model (small preset), ready to run.
std::shared_ptr<const model> builtin_model(std::uint64_t seed = 42);

} // namespace radixrt::runtime
