#include "runtime/model.hpp"

#include <cctype>
#include <cmath>

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

llama_config read_config(const gguf_file& f) {
    const auto arch = f.get_string("general.architecture").value_or("");
    if (arch != "llama") {
        throw gguf_error("architecture '" + arch + "' is not supported (supported: llama)");
    }
    llama_config c;
    c.dim = require_uint(f, "llama.embedding_length");
    c.n_layers = require_uint(f, "llama.block_count");
    c.n_heads = require_uint(f, "llama.attention.head_count");
    c.n_kv_heads = f.get_uint("llama.attention.head_count_kv").value_or(c.n_heads);
    c.ffn_dim = require_uint(f, "llama.feed_forward_length");
    c.context_length = f.get_uint("llama.context_length").value_or(2048);
    if (c.context_length > (1u << 24)) {
        throw gguf_error("llama.context_length " + std::to_string(c.context_length) +
                         " is out of range");
    }
    c.rms_eps = float(f.get_float("llama.attention.layer_norm_rms_epsilon").value_or(1e-5));
    c.rope_base = float(f.get_float("llama.rope.freq_base").value_or(10000.0));
    if (c.dim % c.n_heads != 0 || c.n_kv_heads == 0 || c.n_heads % c.n_kv_heads != 0 ||
        c.n_layers > 4096 || c.context_length == 0 || !(c.rms_eps > 0) || !(c.rope_base > 0)) {
        throw gguf_error("inconsistent llama hyper-parameters (heads " + std::to_string(c.n_heads) +
                         ", kv heads " + std::to_string(c.n_kv_heads) + ", dim " +
                         std::to_string(c.dim) + ")");
    }
    c.head_dim = c.dim / c.n_heads;
    c.rope_dim = f.get_uint("llama.rope.dimension_count").value_or(c.head_dim);
    if (c.rope_dim > c.head_dim || c.rope_dim % 2 != 0) {
        throw gguf_error("llama.rope.dimension_count must be even and <= head dim");
    }
    const gguf_tensor* embd = f.tensor("token_embd.weight");
    if (embd == nullptr || embd->dims.size() != 2) {
        throw gguf_error("tensor 'token_embd.weight' is missing or not a matrix");
    }
    c.vocab_size = embd->dims[1];
    return c;
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
    for (std::size_t l = 0; l < c.n_layers; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        layer_weights w;
        w.attn_norm = vector_f32(f, p + "attn_norm.weight", c.dim);
        w.wq = matrix(f, p + "attn_q.weight", c.q_dim(), c.dim);
        w.wk = matrix(f, p + "attn_k.weight", c.kv_dim(), c.dim);
        w.wv = matrix(f, p + "attn_v.weight", c.kv_dim(), c.dim);
        w.wo = matrix(f, p + "attn_output.weight", c.dim, c.q_dim());
        w.ffn_norm = vector_f32(f, p + "ffn_norm.weight", c.dim);
        w.w_gate = matrix(f, p + "ffn_gate.weight", c.ffn_dim, c.dim);
        w.w_up = matrix(f, p + "ffn_up.weight", c.ffn_dim, c.dim);
        w.w_down = matrix(f, p + "ffn_down.weight", c.dim, c.ffn_dim);
        m->layers_.push_back(std::move(w));
    }
    return m;
}

std::size_t model::weight_bytes() const {
    std::size_t n = 0;
    for (const auto& t : file_.tensors()) {
        n += t.bytes;
    }
    return n;
}

} // namespace radixrt::runtime
