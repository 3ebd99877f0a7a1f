#include "runtime/forward.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/parallel.hpp"

namespace radixrt::runtime {

namespace rk = radixrt::kernels;

forward_pass::forward_pass(std::shared_ptr<const model> m) : model_(std::move(m)) {}

namespace {

void rmsnorm_rows(const float* x, const std::vector<float>& w, std::size_t rows, std::size_t dim,
                  float eps, float* out) {
    rk::parallel_for(0, rows, 64, [&](std::size_t b, std::size_t e) {
        for (std::size_t r = b; r < e; ++r) {
            rk::rmsnorm(x + r * dim, w.data(), dim, eps, out + r * dim);
        }
    });
}

} // namespace

void forward_pass::layer(std::size_t l, std::size_t rows, kv_storage& kv,
                         std::span<const rk::paged_seq> seqs) {
    const llama_config& c = model_->config();
    const layer_weights& w = model_->layers()[l];
    const std::size_t dim = c.dim, qd = c.q_dim(), kvd = c.kv_dim();
    const rk::kv_layout& lay = kv.layout();

    rmsnorm_rows(x_.data(), w.attn_norm, rows, dim, c.rms_eps, xb_.data());
    const rk::matmul_job qkv[] = {{&w.wq, q_.data()}, {&w.wk, k_.data()}, {&w.wv, v_.data()}};
    rk::matmul_many(xb_.data(), rows, qkv);
    void* karena = kv.k(l);
    void* varena = kv.v(l);
    const float* freqs = c.rope_freqs.empty() ? nullptr : c.rope_freqs.data();
    rk::parallel_for(0, rows, 32, [&](std::size_t b, std::size_t e) {
        std::vector<float> cos(c.rope_dim / 2), sin(c.rope_dim / 2);
        for (std::size_t r = b; r < e; ++r) {
            float* qr = q_.data() + r * qd;
            float* kr = k_.data() + r * kvd;
            float* vr = v_.data() + r * kvd;
            if (c.qkv_bias) {
                rk::add_inplace(qr, w.bq.data(), qd);
                rk::add_inplace(kr, w.bk.data(), kvd);
                rk::add_inplace(vr, w.bv.data(), kvd);
            }
            // One set of angles per token for its Q and K heads.
            rk::rope_angles(c.rope_dim, pos_[r], c.rope_base, c.rope_freq_scale, freqs,
                            cos.data(), sin.data());
            rk::rope_rotate(qr, c.n_heads, c.head_dim, c.rope_dim, c.rope, cos.data(), sin.data());
            rk::rope_rotate(kr, c.n_kv_heads, c.head_dim, c.rope_dim, c.rope, cos.data(),
                            sin.data());
            if (c.q_scale > 0.0f) {
                for (std::size_t i = 0; i < qd; ++i) {
                    qr[i] *= c.q_scale;
                }
            }
            const std::size_t off = lay.offset(table_[r], pos_[r]);
            kv.store(karena, off, kr);
            kv.store(varena, off, vr);
        }
    });
    rk::attention_options opt;
    opt.scale = c.q_scale > 0.0f ? 1.0f : 1.0f / std::sqrt(float(c.head_dim));
    opt.softcap = c.attn_softcap;
    opt.window = c.window(l);
    rk::paged_attention(q_.data(), att_.data(), seqs, karena, varena, lay, c.n_heads, opt);
    rk::matmul(att_.data(), rows, w.wo, xb2_.data());
    if (c.post_norms) {
        rmsnorm_rows(xb2_.data(), w.post_attn_norm, rows, dim, c.rms_eps, xb2_.data());
    }
    rk::add_inplace(x_.data(), xb2_.data(), rows * dim);

    rmsnorm_rows(x_.data(), w.ffn_norm, rows, dim, c.rms_eps, xb_.data());
    const rk::matmul_job gate_up[] = {{&w.w_gate, hb_.data()}, {&w.w_up, hb2_.data()}};
    rk::matmul_many(xb_.data(), rows, gate_up);
    const bool gelu = c.act == ffn_activation::gelu_tanh;
    rk::parallel_for(0, rows, 16, [&](std::size_t b, std::size_t e) {
        float* g = hb_.data() + b * c.ffn_dim;
        const float* u = hb2_.data() + b * c.ffn_dim;
        if (gelu) {
            rk::gelu_mul(g, u, (e - b) * c.ffn_dim);
        } else {
            rk::silu_mul(g, u, (e - b) * c.ffn_dim);
        }
    });
    rk::matmul(hb_.data(), rows, w.w_down, xb2_.data());
    if (c.post_norms) {
        rmsnorm_rows(xb2_.data(), w.post_ffn_norm, rows, dim, c.rms_eps, xb2_.data());
    }
    rk::add_inplace(x_.data(), xb2_.data(), rows * dim);
}

std::span<const float> forward_pass::run(std::span<const seq_step> batch, kv_storage& kv) {
    const llama_config& c = model_->config();
    const std::size_t dim = c.dim;
    std::size_t rows = 0, n_out = 0;
    std::vector<rk::paged_seq> seqs;
    pos_.clear();
    table_.clear();
    tables_.resize(std::max(tables_.size(), batch.size()));
    for (std::size_t si = 0; si < batch.size(); ++si) {
        const auto& s = batch[si];
        const std::size_t end = s.n_past + s.tokens.size();
        if (s.tokens.empty() || end > c.context_length ||
            s.block_table.size() * kv.block_size() < end) {
            throw std::invalid_argument("forward: sequence of " + std::to_string(end) +
                                        " tokens does not fit its block table or the context");
        }
        auto& table = tables_[si];
        table.clear();
        for (auto b : s.block_table) {
            if (to_int(b) < 0 || std::size_t(to_int(b)) >= kv.n_blocks()) {
                throw std::invalid_argument("forward: block id " + std::to_string(to_int(b)) +
                                            " out of range");
            }
            table.push_back(to_int(b));
        }
        seqs.push_back({table.data(), s.n_past, s.tokens.size(), rows});
        for (std::size_t i = 0; i < s.tokens.size(); ++i) {
            pos_.push_back(s.n_past + i);
            table_.push_back(table.data());
        }
        rows += s.tokens.size();
        n_out += s.all_logits ? s.tokens.size() : 1;
    }
    x_.resize(rows * dim);
    xb_.resize(rows * dim);
    xb2_.resize(rows * dim);
    q_.resize(rows * c.q_dim());
    att_.resize(rows * c.q_dim());
    k_.resize(rows * c.kv_dim());
    v_.resize(rows * c.kv_dim());
    hb_.resize(rows * c.ffn_dim);
    hb2_.resize(rows * c.ffn_dim);

    // token embeddings
    std::size_t r = 0;
    for (const auto& s : batch) {
        for (token_id t : s.tokens) {
            if (t < 0 || std::size_t(t) >= c.vocab_size) {
                throw std::invalid_argument("forward: token id " + std::to_string(t) +
                                            " outside the vocabulary");
            }
            const auto& e = model_->token_embd();
            float* xr = x_.data() + r * dim;
            rk::dequantize_row(e.type, e.row(std::size_t(t)), dim, xr);
            if (c.embd_scale > 0.0f) {
                for (std::size_t i = 0; i < dim; ++i) {
                    xr[i] *= c.embd_scale;
                }
            }
            ++r;
        }
    }
    for (std::size_t l = 0; l < c.n_layers; ++l) {
        layer(l, rows, kv, seqs);
    }
    // final norm and the output projection, only for the rows that need logits
    out_rows_.resize(n_out * dim);
    std::size_t o = 0;
    r = 0;
    for (const auto& s : batch) {
        const std::size_t first = s.all_logits ? 0 : s.tokens.size() - 1;
        for (std::size_t i = first; i < s.tokens.size(); ++i) {
            rk::rmsnorm(x_.data() + (r + i) * dim, model_->output_norm().data(), dim, c.rms_eps,
                        out_rows_.data() + o * dim);
            ++o;
        }
        r += s.tokens.size();
    }
    logits_.resize(n_out * c.vocab_size);
    rk::matmul(out_rows_.data(), n_out, model_->output(), logits_.data());
    if (c.final_softcap > 0.0f) {
        rk::softcap(logits_.data(), logits_.size(), c.final_softcap);
    }
    return logits_;
}

} // namespace radixrt::runtime
