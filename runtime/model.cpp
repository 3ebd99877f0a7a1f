#include "runtime/model.hpp"

#include <cctype>
#include <cmath>
#include <optional>

namespace radixrt::runtime {
namespace {

std::string supported_types() {
    std::string out;
    for (auto t : kernels::all_dtypes) {
        std::string n(kernels::dtype_name(t));
        for (auto& c : n) {
            c = char(std::toupper(static_cast<unsigned char>(c)));
        }
        out += (out.empty() ? "" : ", ") + n;
    }
    return out;
}

std::size_t require_uint(const gguf_file& f, const std::string& key) {
    auto v = f.get_uint(key);
    if (!v || *v == 0 || *v > (1u << 24)) {
        throw gguf_error("metadata '" + key + "' is missing or out of range");
    }
    return std::size_t(*v);
}

kernels::weight_view matrix(const gguf_file& f, const std::string& name, std::size_t rows,
                            std::size_t cols) {
    const gguf_tensor* t = f.tensor(name);
    if (t == nullptr) {
        throw gguf_error("tensor '" + name + "' is missing");
    }
    if (t->dims.size() != 2 || t->dims[0] != cols || t->dims[1] != rows) {
        std::string got;
        for (auto d : t->dims) {
            got += (got.empty() ? "" : " x ") + std::to_string(d);
        }
        throw gguf_error("tensor '" + name + "' has shape " + got + ", expected " +
                         std::to_string(cols) + " x " + std::to_string(rows));
    }
    auto type = to_dtype(t->ggml_type);
    if (!type) {
        throw gguf_error("tensor '" + name + "' has type " + find_ggml_type(t->ggml_type)->name +
                         ", which radixrt does not compute (supported: " + supported_types() + ")");
    }
    if (!kernels::row_size_ok(*type, cols)) {
        throw gguf_error("tensor '" + name + "' has rows of " + std::to_string(cols) +
                         " elements, not whole " + std::string(kernels::dtype_name(*type)) +
                         " blocks of " + std::to_string(kernels::block_elems(*type)));
    }
    return {*type, t->data, rows, cols};
}

std::vector<float> vector_f32(const gguf_file& f, const std::string& name, std::size_t n) {
    const gguf_tensor* t = f.tensor(name);
    if (t == nullptr) {
        throw gguf_error("tensor '" + name + "' is missing");
    }
    auto type = to_dtype(t->ggml_type);
    if (t->elements() != n || t->dims[0] != n || !type || !kernels::row_size_ok(*type, n)) {
        throw gguf_error("tensor '" + name + "' should be " + std::to_string(n) +
                         " F32/F16/BF16 values");
    }
    std::vector<float> out(n);
    kernels::dequantize_row(*type, t->data, n, out.data());
    return out;
}

std::optional<std::size_t> optional_uint(const gguf_file& f, const std::string& key) {
    auto v = f.get_uint(key);
    if (v && (*v == 0 || *v > (1u << 24))) {
        throw gguf_error("metadata '" + key + "' is out of range");
    }
    return v ? std::optional<std::size_t>(std::size_t(*v)) : std::nullopt;
}

float require_float(const gguf_file& f, const std::string& key) {
    auto v = f.get_float(key);
    if (!v) {
        throw gguf_error("metadata '" + key + "' is missing");
    }
    return float(*v);
}

constexpr const char* supported_archs = "llama, qwen2, phi3, gemma2";

llama_config read_config(const gguf_file& f) {
    const auto arch = f.get_string("general.architecture").value_or("");
    if (arch != "llama" && arch != "qwen2" && arch != "phi3" && arch != "gemma2") {
        throw gguf_error("architecture '" + arch +
                         "' is not supported (supported: " + supported_archs + ")");
    }
    const auto key = [&](const char* k) { return arch + "." + k; };
    llama_config c;
    c.arch = arch;
    c.dim = require_uint(f, key("embedding_length"));
    c.n_layers = require_uint(f, key("block_count"));
    c.n_heads = require_uint(f, key("attention.head_count"));
    c.n_kv_heads = optional_uint(f, key("attention.head_count_kv")).value_or(c.n_heads);
    c.ffn_dim = require_uint(f, key("feed_forward_length"));
    c.context_length = optional_uint(f, key("context_length")).value_or(2048);
    // llama.cpp requires the epsilon for every architecture but llama.
    c.rms_eps = arch == "llama"
                    ? float(f.get_float(key("attention.layer_norm_rms_epsilon")).value_or(1e-5))
                    : require_float(f, key("attention.layer_norm_rms_epsilon"));
    c.rope_base = float(f.get_float(key("rope.freq_base")).value_or(10000.0));
    const auto key_len = optional_uint(f, key("attention.key_length"));
    const auto value_len = optional_uint(f, key("attention.value_length"));
    if (key_len != value_len && key_len && value_len) {
        throw gguf_error(key("attention.key_length") + " " + std::to_string(*key_len) + " and " +
                         key("attention.value_length") + " " + std::to_string(*value_len) +
                         " differ, which radixrt does not support");
    }
    if (c.n_kv_heads == 0 || c.n_heads % c.n_kv_heads != 0 || c.n_layers > 4096 ||
        (!key_len && c.dim % c.n_heads != 0) || !(c.rms_eps > 0) || !(c.rope_base > 0)) {
        throw gguf_error("inconsistent " + arch + " hyper-parameters (heads " +
                         std::to_string(c.n_heads) + ", kv heads " + std::to_string(c.n_kv_heads) +
                         ", dim " + std::to_string(c.dim) + ")");
    }
    c.head_dim = key_len.value_or(c.dim / c.n_heads);
    c.rope_dim = optional_uint(f, key("rope.dimension_count")).value_or(c.head_dim);
    if (c.rope_dim > c.head_dim || c.rope_dim % 2 != 0) {
        throw gguf_error(key("rope.dimension_count") + " must be even and <= the head size " +
                         std::to_string(c.head_dim));
    }
    const auto scaling = f.get_string(key("rope.scaling.type")).value_or("none");
    if (scaling == "linear") {
        const float factor = require_float(f, key("rope.scaling.factor"));
        if (!(factor > 0)) {
            throw gguf_error(key("rope.scaling.factor") + " must be positive");
        }
        c.rope_freq_scale = 1.0f / factor;
    } else if (scaling != "none") {
        throw gguf_error("rope scaling '" + scaling + "' (" + key("rope.scaling.type") +
                         ") is not supported (supported: none, linear)");
    }
    if (arch == "llama") {
        c.rope = kernels::rope_style::normal;
    } else {
        c.rope = kernels::rope_style::neox; // as llama.cpp runs these architectures
    }
    if (arch == "qwen2") {
        c.qkv_bias = true;
    } else if (arch == "phi3") {
        // llama.cpp pre-scales Q for phi3, and reads the window (but, unlike
        // the reference implementation, does not apply it; radixrt does).
        c.q_scale = 1.0f / std::sqrt(float(c.head_dim));
        c.swa_window = optional_uint(f, key("attention.sliding_window")).value_or(0);
    } else if (arch == "gemma2") {
        c.post_norms = true;
        c.act = ffn_activation::gelu_tanh;
        c.embd_scale = std::sqrt(float(c.dim));
        // llama.cpp's rule (after gemma_pytorch): the 27B model (46 layers)
        // scales by 1/sqrt(dim / heads), the others by 1/sqrt(head size).
        c.q_scale = c.n_layers == 46 ? 1.0f / std::sqrt(float(c.dim / c.n_heads))
                                     : 1.0f / std::sqrt(float(c.head_dim));
        c.attn_softcap = float(f.get_float(key("attn_logit_softcapping")).value_or(50.0));
        c.final_softcap = float(f.get_float(key("final_logit_softcapping")).value_or(30.0));
        c.swa_window = require_uint(f, key("attention.sliding_window"));
        c.swa_period = 2; // even layers slide, odd layers see everything
        if (!(c.attn_softcap > 0) || !(c.final_softcap > 0)) {
            throw gguf_error("gemma2 soft-capping values must be positive");
        }
    }
    const gguf_tensor* embd = f.tensor("token_embd.weight");
    if (embd == nullptr || embd->dims.size() != 2) {
        throw gguf_error("tensor 'token_embd.weight' is missing or not a matrix");
    }
    c.vocab_size = embd->dims[1];
    return c;
}

// Rows first .. first + rows of a matrix (a part of a fused tensor).
kernels::weight_view rows_of(const kernels::weight_view& w, std::size_t first, std::size_t rows) {
    return {w.type, w.row(first), rows, w.cols};
}

} // namespace

std::shared_ptr<const model> model::load(const std::string& path) {
    auto name = path.substr(path.find_last_of('/') + 1);
    try {
        return from_gguf(gguf_file::open(path), name);
    } catch (const gguf_error& e) {
        const std::string msg = e.what();
        throw gguf_error(msg.rfind("'" + path + "'", 0) == 0 ? msg : "'" + path + "': " + msg);
    }
}

std::shared_ptr<const model> model::from_gguf(gguf_file file, std::string name) {
    auto m = std::shared_ptr<model>(new model());
    m->file_ = std::move(file);
    m->name_ = std::move(name);
    const gguf_file& f = m->file_;
    auto& c = m->cfg_ = read_config(f);
    m->token_embd_ = matrix(f, "token_embd.weight", c.vocab_size, c.dim);
    m->output_ = f.tensor("output.weight") ? matrix(f, "output.weight", c.vocab_size, c.dim)
                                           : m->token_embd_;
    m->output_norm_ = vector_f32(f, "output_norm.weight", c.dim);
    if (f.tensor("rope_factors_long.weight") != nullptr ||
        f.tensor("blk.0.rope_factors_long.weight") != nullptr) {
        throw gguf_error("long-context rope factors (rope_factors_long.weight) are not "
                         "supported yet");
    }
    if (f.tensor("rope_freqs.weight") != nullptr) {
        c.rope_freqs = vector_f32(f, "rope_freqs.weight", c.rope_dim / 2);
    }
    for (std::size_t l = 0; l < c.n_layers; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        layer_weights w;
        w.attn_norm = vector_f32(f, p + "attn_norm.weight", c.dim);
        if (f.tensor(p + "attn_qkv.weight") != nullptr) {
            const auto qkv = matrix(f, p + "attn_qkv.weight", c.q_dim() + 2 * c.kv_dim(), c.dim);
            w.wq = rows_of(qkv, 0, c.q_dim());
            w.wk = rows_of(qkv, c.q_dim(), c.kv_dim());
            w.wv = rows_of(qkv, c.q_dim() + c.kv_dim(), c.kv_dim());
        } else {
            w.wq = matrix(f, p + "attn_q.weight", c.q_dim(), c.dim);
            w.wk = matrix(f, p + "attn_k.weight", c.kv_dim(), c.dim);
            w.wv = matrix(f, p + "attn_v.weight", c.kv_dim(), c.dim);
        }
        if (c.qkv_bias) {
            w.bq = vector_f32(f, p + "attn_q.bias", c.q_dim());
            w.bk = vector_f32(f, p + "attn_k.bias", c.kv_dim());
            w.bv = vector_f32(f, p + "attn_v.bias", c.kv_dim());
        }
        w.wo = matrix(f, p + "attn_output.weight", c.dim, c.q_dim());
        w.ffn_norm = vector_f32(f, p + "ffn_norm.weight", c.dim);
        if (f.tensor(p + "ffn_gate.weight") == nullptr && c.arch == "phi3") {
            // gate and up fused in ffn_up: the gate's rows first
            const auto up = matrix(f, p + "ffn_up.weight", 2 * c.ffn_dim, c.dim);
            w.w_gate = rows_of(up, 0, c.ffn_dim);
            w.w_up = rows_of(up, c.ffn_dim, c.ffn_dim);
        } else {
            w.w_gate = matrix(f, p + "ffn_gate.weight", c.ffn_dim, c.dim);
            w.w_up = matrix(f, p + "ffn_up.weight", c.ffn_dim, c.dim);
        }
        w.w_down = matrix(f, p + "ffn_down.weight", c.dim, c.ffn_dim);
        if (c.post_norms) {
            w.post_attn_norm = vector_f32(f, p + "post_attention_norm.weight", c.dim);
            w.post_ffn_norm = vector_f32(f, p + "post_ffw_norm.weight", c.dim);
        }
        m->layers_.push_back(std::move(w));
    }
    m->pack_float_weights();
    return m;
}

void model::pack_float_weights() {
    // The file's copy of a packed matrix is not read again (unless it is
    // also the token embedding, tied), so its pages leave the resident set.
    auto pack = [&](kernels::weight_view& w) {
        if (!kernels::is_quantized(w.type)) {
            w = packed_.emplace_back(w).attach(w);
            if (w.data != token_embd_.data) {
                file_.release(w.data, w.rows * kernels::row_bytes(w.type, w.cols));
            }
        }
    };
    for (auto& l : layers_) {
        for (auto* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
            pack(*w);
        }
    }
    pack(output_);
}

std::size_t model::weight_bytes() const {
    std::size_t n = 0;
    for (const auto& t : file_.tensors()) {
        n += t.bytes;
    }
    return n;
}

} // namespace radixrt::runtime
