#include "runtime/quantize_model.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "kernels/parallel.hpp"

namespace radixrt::runtime {

namespace {

using kernels::dtype;

struct recipe_info {
    quant_recipe r;
    const char* name;
    dtype base;
    std::uint32_t file_type; // llama_ftype: what llama.cpp shows as "file type"
};

constexpr recipe_info recipes[] = {
    {quant_recipe::q8_0, "q8_0", dtype::q8_0, 7},
    {quant_recipe::q4_0, "q4_0", dtype::q4_0, 2},
    {quant_recipe::q4_k, "q4_k", dtype::q4_k, 14},
    {quant_recipe::q5_k, "q5_k", dtype::q5_k, 16},
    {quant_recipe::q6_k, "q6_k", dtype::q6_k, 18},
    {quant_recipe::q4_k_m, "q4_k_m", dtype::q4_k, 15},
    {quant_recipe::q5_k_m, "q5_k_m", dtype::q5_k, 17},
};

const recipe_info& info(quant_recipe r) {
    for (const auto& i : recipes) {
        if (i.r == r) {
            return i;
        }
    }
    return recipes[0];
}

// llama.cpp's choice of layers that get more bits in the _M mixes.
bool more_bits(std::size_t layer, std::size_t n) {
    return layer < n / 8 || layer >= 7 * n / 8 || (layer - n / 8) % 3 == 2;
}

bool contains(std::string_view s, std::string_view part) {
    return s.find(part) != std::string_view::npos;
}

// A type whose blocks do not fit the row length falls back as llama.cpp's does.
dtype fit(dtype t, std::size_t cols) {
    if (kernels::row_size_ok(t, cols)) {
        return t;
    }
    switch (t) {
    case dtype::q4_k:
        t = dtype::q5_0;
        break;
    case dtype::q5_k:
        t = dtype::q5_1;
        break;
    case dtype::q6_k:
        t = dtype::q8_0;
        break;
    default:
        break;
    }
    return kernels::row_size_ok(t, cols) ? t : dtype::f16;
}

// The layer of "blk.N.xxx", or 0.
std::size_t layer_of(std::string_view name) {
    if (name.rfind("blk.", 0) != 0) {
        return 0;
    }
    std::size_t n = 0;
    for (std::size_t i = 4; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i) {
        n = n * 10 + std::size_t(name[i] - '0');
    }
    return n;
}

} // namespace

bool parse_recipe(std::string_view name, quant_recipe& out) {
    for (const auto& i : recipes) {
        if (name == i.name) {
            out = i.r;
            return true;
        }
    }
    return false;
}

std::string recipe_names() {
    std::string out;
    for (const auto& i : recipes) {
        out += (out.empty() ? "" : ", ") + std::string(i.name);
    }
    return out;
}

dtype recipe_type(quant_recipe r, std::string_view tensor, std::size_t layer, std::size_t n_layers,
                  std::size_t cols, bool has_output) {
    const dtype base = info(r).base;
    const bool mix = r == quant_recipe::q4_k_m || r == quant_recipe::q5_k_m;
    if (tensor == "output.weight" || (!has_output && tensor == "token_embd.weight")) {
        // The output matrix matters most: Q6_K, unless the whole model is Q8_0.
        return fit(base == dtype::q8_0 ? dtype::q8_0 : dtype::q6_k, cols);
    }
    dtype t = base;
    if (mix && (contains(tensor, "attn_v.weight") || contains(tensor, "ffn_down")) &&
        more_bits(layer, n_layers)) {
        t = dtype::q6_k;
    }
    if (mix && contains(tensor, "attn_qkv.weight")) {
        t = r == quant_recipe::q4_k_m ? dtype::q5_k : dtype::q6_k;
    }
    return fit(t, cols);
}

gguf_writer quantize_model(const gguf_file& in, quant_recipe r, const quantize_progress& progress) {
    gguf_writer w;
    for (const auto& [key, value] : in.metadata()) {
        if (key == "general.file_type" || key == "general.alignment" ||
            key == "general.quantization_version") {
            continue; // written below (this writer aligns to 32)
        }
        w.add(key, value, in.type_of(key));
    }
    w.add("general.quantization_version", std::uint64_t(2), gguf_type::u32);
    w.add("general.file_type", std::uint64_t(info(r).file_type), gguf_type::u32);
    const auto arch = in.get_string("general.architecture").value_or("llama");
    const std::size_t n_layers = std::size_t(in.get_uint(arch + ".block_count").value_or(1));
    const bool has_output = in.tensor("output.weight") != nullptr;
    std::uint64_t total = 0, done = 0;
    for (const auto& t : in.tensors()) {
        total += t.bytes;
    }
    for (const auto& t : in.tensors()) {
        auto src = to_dtype(t.ggml_type);
        if (!src) {
            throw gguf_error("tensor '" + t.name + "' has type " +
                             std::string(find_ggml_type(t.ggml_type)->name) +
                             ", which radixrt cannot read");
        }
        const bool weight = t.dims.size() == 2 && t.name.size() > 7 &&
                            t.name.compare(t.name.size() - 7, 7, ".weight") == 0;
        if (!weight) { // norms, biases: as they are
            w.add_tensor(t.name, t.dims, t.ggml_type,
                         std::vector<char>(static_cast<const char*>(t.data),
                                           static_cast<const char*>(t.data) + t.bytes));
        } else {
            const std::size_t cols = std::size_t(t.dims[0]), rows = std::size_t(t.dims[1]);
            const dtype to = recipe_type(r, t.name, layer_of(t.name), n_layers, cols, has_output);
            const std::size_t in_row = kernels::row_bytes(*src, cols);
            const std::size_t out_row = kernels::row_bytes(to, cols);
            std::vector<char> out(rows * out_row);
            kernels::parallel_for(
                0, rows, std::max<std::size_t>(1, (1u << 16) / cols),
                [&](std::size_t b, std::size_t e) {
                    std::vector<float> f(cols);
                    for (std::size_t row = b; row < e; ++row) {
                        kernels::dequantize_row(
                            *src, static_cast<const char*>(t.data) + row * in_row, cols, f.data());
                        kernels::quantize_row(to, f.data(), cols, out.data() + row * out_row);
                    }
                });
            w.add_tensor(t.name, t.dims, kernels::ggml_type_of(to), std::move(out));
        }
        done += t.bytes;
        if (progress) {
            progress(done, total);
        }
    }
    return w;
}

} // namespace radixrt::runtime
