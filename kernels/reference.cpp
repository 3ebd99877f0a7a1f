#include "kernels/reference.hpp"

#include <cmath>
#include <vector>

namespace radixrt::kernels::reference {

void matmul(const float* x, std::size_t n, const weight_view& w, float* y) {
    std::vector<float> row(w.cols);
    for (std::size_t o = 0; o < w.rows; ++o) {
        dequantize_row(w.type, w.row(o), w.cols, row.data()); // W[o, :]
        for (std::size_t r = 0; r < n; ++r) {
            double acc = 0.0; // y[r, o] = sum_i x[r, i] * W[o, i]
            for (std::size_t i = 0; i < w.cols; ++i) {
                acc += double(x[r * w.cols + i]) * row[i];
            }
            y[r * w.rows + o] = float(acc);
        }
    }
}

void attention(const float* q, const float* k, const float* v, std::size_t n_q, std::size_t n_past,
               std::size_t n_heads, std::size_t n_kv_heads, std::size_t hd, float scale,
               float* out) {
    for (std::size_t t = 0; t < n_q; ++t) {
        const std::size_t n_ctx = n_past + t + 1; // causal: keys 0 .. n_past + t
        for (std::size_t h = 0; h < n_heads; ++h) {
            const std::size_t kvh = h * n_kv_heads / n_heads;
            std::vector<double> p(n_ctx);
            double mx = -INFINITY, sum = 0.0;
            for (std::size_t j = 0; j < n_ctx; ++j) { // p_j = q . k_j * scale
                double d = 0.0;
                for (std::size_t i = 0; i < hd; ++i) {
                    d += double(q[(t * n_heads + h) * hd + i]) * k[(j * n_kv_heads + kvh) * hd + i];
                }
                p[j] = d * scale;
                mx = std::max(mx, p[j]);
            }
            for (auto& x : p) { // softmax
                x = std::exp(x - mx);
                sum += x;
            }
            for (std::size_t i = 0; i < hd; ++i) { // out = sum_j p_j v_j
                double acc = 0.0;
                for (std::size_t j = 0; j < n_ctx; ++j) {
                    acc += p[j] / sum * v[(j * n_kv_heads + kvh) * hd + i];
                }
                out[(t * n_heads + h) * hd + i] = float(acc);
            }
        }
    }
}

} // namespace radixrt::kernels::reference
