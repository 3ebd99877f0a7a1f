#pragma once
// Short vector primitives for attention, dispatched once per call site by
// the active ISA.
#include <cstddef>

namespace radixrt::kernels {

struct vec_ops {
    float (*dot)(const float* a, const float* b, std::size_t n);    // sum_i a_i b_i
    void (*axpy)(float a, const float* x, float* y, std::size_t n); // y += a x
};

/// The implementation for the active ISA.
const vec_ops& active_vec_ops();

} // namespace radixrt::kernels
