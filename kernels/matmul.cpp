#include "kernels/matmul.hpp"

#include <algorithm>
#include <vector>

#include "kernels/cpu.hpp"
#include "kernels/parallel.hpp"

namespace radixrt::kernels {

void matmul(const float* x, std::size_t n, const weight_view& w, float* y) {
    switch (active_isa()) {
    case isa::avx512:
        detail::matmul_avx512(x, n, w, y);
        return;
    case isa::avx2:
        detail::matmul_avx2(x, n, w, y);
        return;
    case isa::scalar:
        break;
    }
    detail::matmul_portable(x, n, w, y);
}

namespace detail {

// Portable fallback: convert one weight row at a time, then dot it with every
// input row. The compiler vectorises the inner loop for the baseline ISA.
void matmul_portable(const float* x, std::size_t n, const weight_view& w, float* y) {
    const std::size_t k = w.cols;
    const std::size_t grain = std::max<std::size_t>(1, (1u << 18) / (k * (n + 1)));
    parallel_for(0, w.rows, grain, [&](std::size_t begin, std::size_t end) {
        std::vector<float> row(k);
        for (std::size_t o = begin; o < end; ++o) {
            dequantize_row(w.type, w.row(o), k, row.data());
            for (std::size_t r = 0; r < n; ++r) {
                const float* xr = x + r * k;
                float acc = 0.0f;
                for (std::size_t i = 0; i < k; ++i) {
                    acc += xr[i] * row[i];
                }
                y[r * w.rows + o] = acc;
            }
        }
    });
}

} // namespace detail
} // namespace radixrt::kernels
