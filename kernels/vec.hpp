#pragma once
// Short vector primitives for attention, dispatched once per call site by
// the active ISA.
#include <cstddef>
#include <cstdint>

namespace radixrt::kernels {

struct vec_ops {
    float (*dot)(const float* a, const float* b, std::size_t n);    // sum_i a_i b_i
    void (*axpy)(float a, const float* x, float* y, std::size_t n); // y += a x
    // The same with b / x in IEEE half (an F16 KV cache).
    float (*dot_h)(const float* a, const std::uint16_t* b, std::size_t n);
    void (*axpy_h)(float a, const std::uint16_t* x, float* y, std::size_t n);
    // `count` half rows `stride` elements apart: out[j] = dot_h(a, row j, n),
    // and y += sum_j p[j] row j (per element in j order, so each equals the
    // loop of dot_h / axpy_h calls bit for bit, without a call per row).
    void (*dot_rows_h)(const float* a, const std::uint16_t* x, std::size_t stride,
                       std::size_t count, std::size_t n, float* out);
    void (*axpy_rows_h)(const float* p, const std::uint16_t* x, std::size_t stride,
                        std::size_t count, std::size_t n, float* y);
};

/// The implementation for the active ISA.
const vec_ops& active_vec_ops();

} // namespace radixrt::kernels
