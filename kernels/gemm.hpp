#pragma once
// Float weights (F32, F16, BF16) repacked once, at model load, into the
// layout of the GEMM micro-kernel: panels of panel_width output features,
// each stored k-major, (cols, panel_width), in the weight's own element type
// (F16 stays F16 and is converted in registers). Row p * panel_width + j of
// W is column j of panel p; rows past the end of W are zero.
//
// Every output y[m, o] = sum_k x[m, k] W[o, k] is then accumulated in one
// fixed order, k = 0, 1, ..., cols - 1, one fused multiply-add per k
// starting from 0, whatever the number of input rows, the tiling over rows
// and outputs, the K blocking and the threads: batch invariant by
// construction, and the GEMV (one row) and GEMM paths agree bit for bit.
#include <cstddef>
#include <memory>

#include "kernels/matmul.hpp"

namespace radixrt::kernels {

inline constexpr std::size_t panel_width = 32;

/// Panels of a matrix with `rows` output features.
constexpr std::size_t panel_count(std::size_t rows) {
    return (rows + panel_width - 1) / panel_width;
}

/// Bytes of w's panels (a float type).
std::size_t packed_bytes(const weight_view& w);

/// Writes w's panels to dst (packed_bytes(w) bytes).
void pack_panels(const weight_view& w, void* dst);

/// An owning copy of a matrix's panels, 64-byte aligned.
class packed_weights {
  public:
    packed_weights() = default;
    /// Packs w (a float type; parallel over panels).
    explicit packed_weights(const weight_view& w);

    const void* data() const { return data_.get(); }
    std::size_t bytes() const { return bytes_; }
    /// w with its panels attached (matmul takes the packed path).
    weight_view attach(weight_view w) const {
        w.panels = data();
        return w;
    }

  private:
    struct free_deleter {
        void operator()(void* p) const;
    };
    std::unique_ptr<void, free_deleter> data_;
    std::size_t bytes_ = 0;
};

namespace detail {

/// Float matmul over panels for any set of weights sharing the input; a
/// weight without panels is packed for the call.
void gemm_many(const float* x, std::size_t n, std::span<const matmul_job> jobs, isa level);

/// C (r, 32) (row stride ldc) += A (r, kc) (row stride lda) @ panel rows
/// (kc, 32) of element type t; r <= tile_rows. One per ISA level.
using tile_fn = void (*)(dtype t, std::size_t r, const float* a, std::size_t lda, const void* b,
                         std::size_t kc, float* c, std::size_t ldc);
struct gemm_kernel {
    tile_fn tile;
    std::size_t tile_rows; // input rows per micro tile
};
gemm_kernel gemm_kernel_portable();
gemm_kernel gemm_kernel_avx2();
gemm_kernel gemm_kernel_avx512();

} // namespace detail

} // namespace radixrt::kernels
