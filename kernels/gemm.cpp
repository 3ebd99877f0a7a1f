#include "kernels/gemm.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "kernels/parallel.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace radixrt::kernels {

namespace {

std::size_t elem_bytes(dtype t) {
    return t == dtype::f32 ? 4 : 2;
}

} // namespace

std::size_t packed_bytes(const weight_view& w) {
    return panel_count(w.rows) * panel_width * w.cols * elem_bytes(w.type);
}

namespace {

// Panel p, (cols, 32): dst[(p * cols + k) * 32 + j] = W[p * 32 + j, k], or 0
// past the last row. Elements are copied bit for bit, as integers of their
// width.
template <class E> void pack_typed(const weight_view& w, E* out) {
    const std::size_t k = w.cols, panels = panel_count(w.rows);
    parallel_for(0, panels, 4, [&](std::size_t b, std::size_t e) {
        for (std::size_t p = b; p < e; ++p) {
            E* panel = out + p * k * panel_width;
            const std::size_t valid = std::min(panel_width, w.rows - p * panel_width);
            for (std::size_t j = 0; j < valid; ++j) {
                const E* row = static_cast<const E*>(w.row(p * panel_width + j));
                for (std::size_t i = 0; i < k; ++i) {
                    panel[i * panel_width + j] = row[i];
                }
            }
            for (std::size_t i = 0; valid < panel_width && i < k; ++i) {
                std::fill(panel + i * panel_width + valid, panel + (i + 1) * panel_width, E{0});
            }
        }
    });
}

} // namespace

void pack_panels(const weight_view& w, void* dst) {
    if (elem_bytes(w.type) == 4) {
        pack_typed(w, static_cast<std::uint32_t*>(dst));
    } else {
        pack_typed(w, static_cast<std::uint16_t*>(dst));
    }
}

void packed_weights::free_deleter::operator()(void* p) const {
    std::free(p);
}

// Matrices of 2 MiB or more get transparent huge pages where the kernel
// offers them on request: 512 times fewer page faults while packing and
// fewer TLB misses while a decode step streams every weight.
packed_weights::packed_weights(const weight_view& w) : bytes_(packed_bytes(w)) {
    constexpr std::size_t huge = std::size_t(2) << 20;
    const std::size_t align = bytes_ >= huge ? huge : 64;
    const std::size_t size = (bytes_ + align - 1) / align * align;
    data_.reset(std::aligned_alloc(align, size));
    if (data_ == nullptr) {
        throw std::bad_alloc();
    }
#if defined(MADV_HUGEPAGE)
    if (align == huge) {
        madvise(data_.get(), size, MADV_HUGEPAGE); // a hint: no huge pages is fine
    }
#endif
    pack_panels(w, data_.get());
}

namespace detail {
namespace {

// K per pass: up to 1024 rows of a panel (64 KiB of F16) and of the input
// block (AVX-512's 8 tiles of 12 rows: (96, 1024) F32, 384 KiB) stay in
// L2 while the row tiles of the block stream past the panel. On the 110M
// model's 512-token prefill (bench/decode_batch_bench BM_prefill) 256 was
// 6-8% slower than 768..4096; 1024 keeps blocks for longer rows.
constexpr std::size_t k_block = 1024;
constexpr std::size_t m_tiles = 8; // row tiles per input block

gemm_kernel kernel_for(isa level) {
    switch (level) {
    case isa::avx512:
        return gemm_kernel_avx512();
    case isa::avx2:
        return gemm_kernel_avx2();
    case isa::scalar:
        break;
    }
    return gemm_kernel_portable();
}

// One weight of the joint panel range.
struct job_panels {
    const unsigned char* panels;
    dtype type;
    std::size_t rows;
    float* y;
};

// Tiles of rows [m0, m1) of one panel, K rows [k0, k0 + kc). A panel that
// ends past W's last row goes through a 32-wide scratch tile so that the
// padding never reaches y (the valid columns are the same floats either way).
void panel_rows(const gemm_kernel& kern, const float* x, std::size_t k, const job_panels& j,
                std::size_t p, std::size_t k0, std::size_t kc, std::size_t m0, std::size_t m1) {
    const std::size_t es = elem_bytes(j.type);
    const unsigned char* b = j.panels + (p * k + k0) * panel_width * es;
    const std::size_t cols = std::min(panel_width, j.rows - p * panel_width);
    float* y = j.y + p * panel_width;
    for (std::size_t m = m0; m < m1; m += kern.tile_rows) {
        const std::size_t r = std::min(kern.tile_rows, m1 - m);
        const float* a = x + m * k + k0;
        if (cols == panel_width) {
            if (k0 == 0) {
                for (std::size_t i = 0; i < r; ++i) {
                    std::fill(y + (m + i) * j.rows, y + (m + i) * j.rows + panel_width, 0.0f);
                }
            }
            kern.tile(j.type, r, a, k, b, kc, y + m * j.rows, j.rows);
            continue;
        }
        float tmp[64 * panel_width] = {};
        for (std::size_t i = 0; i < r && k0 != 0; ++i) {
            std::copy(y + (m + i) * j.rows, y + (m + i) * j.rows + cols, tmp + i * panel_width);
        }
        kern.tile(j.type, r, a, k, b, kc, tmp, panel_width);
        for (std::size_t i = 0; i < r; ++i) {
            std::copy(tmp + i * panel_width, tmp + i * panel_width + cols, y + (m + i) * j.rows);
        }
    }
}

// Joint panels [b, e) of all jobs: K in blocks, then blocks of input rows,
// then each panel with every row tile of the block.
void run_range(const gemm_kernel& kern, const float* x, std::size_t n, std::size_t k,
               const std::vector<job_panels>& jobs, const std::vector<std::size_t>& first,
               std::size_t b, std::size_t e) {
    const std::size_t mb = kern.tile_rows * m_tiles;
    // One row tile reuses no weights: stream each panel whole (one
    // sequential read) instead of in K blocks.
    const std::size_t kb = n <= kern.tile_rows ? k : k_block;
    for (std::size_t k0 = 0; k0 < k; k0 += kb) {
        const std::size_t kc = std::min(kb, k - k0);
        for (std::size_t m0 = 0; m0 < n; m0 += mb) {
            std::size_t ji = std::size_t(std::upper_bound(first.begin(), first.end(), b) -
                                         first.begin()) -
                             1;
            for (std::size_t p = b; p < e; ++p) {
                while (ji + 1 < jobs.size() && p >= first[ji + 1]) {
                    ++ji;
                }
                panel_rows(kern, x, k, jobs[ji], p - first[ji], k0, kc, m0, std::min(n, m0 + mb));
            }
        }
    }
}

} // namespace

void gemm_many(const float* x, std::size_t n, std::span<const matmul_job> jobs, isa level) {
    if (jobs.empty() || n == 0) {
        return;
    }
    const gemm_kernel kern = kernel_for(level);
    const std::size_t k = jobs[0].w->cols;
    std::vector<packed_weights> own; // weights that came without panels
    own.reserve(jobs.size());
    std::vector<job_panels> jp;
    std::vector<std::size_t> first;
    std::size_t total = 0, bytes = 0;
    for (const auto& j : jobs) {
        const void* panels = j.w->panels;
        if (panels == nullptr) {
            panels = own.emplace_back(*j.w).data();
        }
        jp.push_back({static_cast<const unsigned char*>(panels), j.w->type, j.w->rows, j.y});
        first.push_back(total);
        total += panel_count(j.w->rows);
        bytes += packed_bytes(*j.w);
    }
    // At least ~256 KiB of weights or ~4M multiply-adds per task.
    const std::size_t panel_bytes = std::max<std::size_t>(1, bytes / total);
    const std::size_t macs = n * k * panel_width;
    const std::size_t grain = std::max<std::size_t>(
        1, std::min((std::size_t(1) << 18) / panel_bytes, (std::size_t(1) << 22) / macs));
    parallel_for(0, total, grain, [&](std::size_t b, std::size_t e) {
        run_range(kern, x, n, k, jp, first, b, e);
    });
}

namespace {

float element(dtype t, const void* b, std::size_t i) {
    switch (t) {
    case dtype::f16:
        return f16_to_f32(static_cast<const std::uint16_t*>(b)[i]);
    case dtype::bf16:
        return bf16_to_f32(static_cast<const std::uint16_t*>(b)[i]);
    default:
        return static_cast<const float*>(b)[i];
    }
}

constexpr std::size_t portable_rows = 4;

// C (r, 32) += A (r, kc) @ B (kc, 32): c[i][j] += a[i][k] * b[k][j] for
// k = 0 .. kc - 1 in order (the portable twin of the SIMD tiles).
void tile_portable(dtype t, std::size_t r, const float* a, std::size_t lda, const void* b,
                   std::size_t kc, float* c, std::size_t ldc) {
    float acc[portable_rows][panel_width], bk[panel_width];
    for (std::size_t i = 0; i < r; ++i) {
        std::copy(c + i * ldc, c + i * ldc + panel_width, acc[i]);
    }
    for (std::size_t k = 0; k < kc; ++k) {
        for (std::size_t j = 0; j < panel_width; ++j) {
            bk[j] = element(t, b, k * panel_width + j);
        }
        for (std::size_t i = 0; i < r; ++i) {
            const float av = a[i * lda + k];
            for (std::size_t j = 0; j < panel_width; ++j) {
                acc[i][j] += av * bk[j];
            }
        }
    }
    for (std::size_t i = 0; i < r; ++i) {
        std::copy(acc[i], acc[i] + panel_width, c + i * ldc);
    }
}

} // namespace

gemm_kernel gemm_kernel_portable() {
    return {tile_portable, portable_rows};
}

} // namespace detail
} // namespace radixrt::kernels
