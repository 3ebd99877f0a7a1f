#pragma once
// `radixrt model quantize`: a GGUF model to one of the quantized types or
// llama.cpp's Q4_K_M / Q5_K_M mixes, choosing per tensor as llama.cpp's
// quantizer does for Llama models (no importance matrix): 1-D tensors stay
// as they are; output.weight gets Q6_K (Q8_0 under q8_0); under the _M mixes
// attn_v and ffn_down of some layers get Q6_K; a tensor whose rows are not
// whole blocks falls back as llama.cpp falls back (Q4_K -> Q5_0, Q5_K ->
// Q5_1, Q6_K -> Q8_0, then F16). The block layout is GGUF's, so llama.cpp
// reads the files; Q8_0 and Q4_0 tensors are byte-identical to its own.
#include <functional>
#include <string>
#include <string_view>

#include "kernels/dtype.hpp"
#include "runtime/gguf.hpp"

namespace radixrt::runtime {

enum class quant_recipe { q8_0, q4_0, q4_k, q5_k, q6_k, q4_k_m, q5_k_m };

/// "q8_0", "q4_0", "q4_k", "q5_k", "q6_k", "q4_k_m" or "q5_k_m".
bool parse_recipe(std::string_view name, quant_recipe& out);
std::string recipe_names();

/// The type a 2-D weight tensor gets (cols: its row length).
kernels::dtype recipe_type(quant_recipe r, std::string_view tensor, std::size_t layer,
                           std::size_t n_layers, std::size_t cols, bool has_output);

/// Called as work proceeds: (bytes of source tensors done, total).
using quantize_progress = std::function<void(std::uint64_t done, std::uint64_t total)>;

/// The quantized model: metadata copied (general.file_type set), every 2-D
/// weight converted. Throws gguf_error for a tensor type it cannot read.
gguf_writer quantize_model(const gguf_file& in, quant_recipe r,
                           const quantize_progress& progress = {});

} // namespace radixrt::runtime
