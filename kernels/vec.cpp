#include "kernels/vec.hpp"

#include "kernels/cpu.hpp"
#include "kernels/dtype.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace radixrt::kernels {
namespace {

float dot_portable(const float* a, const float* b, std::size_t n) {
    float s[8] = {}; // eight partial sums, so the compiler can vectorise
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int j = 0; j < 8; ++j) {
            s[j] += a[i + j] * b[i + j];
        }
    }
    float t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; ++i) {
        t += a[i] * b[i];
    }
    return t;
}

void axpy_portable(float a, const float* x, float* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        y[i] += a * x[i];
    }
}

float dot_h_portable(const float* a, const std::uint16_t* b, std::size_t n) {
    float s[8] = {};
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int j = 0; j < 8; ++j) {
            s[j] += a[i + j] * f16_to_f32(b[i + j]);
        }
    }
    float t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; ++i) {
        t += a[i] * f16_to_f32(b[i]);
    }
    return t;
}

void axpy_h_portable(float a, const std::uint16_t* x, float* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        y[i] += a * f16_to_f32(x[i]);
    }
}

void dot_rows_h_portable(const float* a, const std::uint16_t* x, std::size_t stride,
                         std::size_t count, std::size_t n, float* out) {
    for (std::size_t j = 0; j < count; ++j) {
        out[j] = dot_h_portable(a, x + j * stride, n);
    }
}

void axpy_rows_h_portable(const float* p, const std::uint16_t* x, std::size_t stride,
                          std::size_t count, std::size_t n, float* y) {
    for (std::size_t j = 0; j < count; ++j) {
        axpy_h_portable(p[j], x + j * stride, y, n);
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma,f16c"))) inline __m256 load_h(const std::uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

__attribute__((target("avx2,fma,f16c"))) inline float
dot_h_body(const float* a, const std::uint16_t* b, std::size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load_h(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), load_h(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load_h(b + i), s0);
    }
    s0 = _mm256_add_ps(s0, s1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float t = _mm_cvtss_f32(h);
    for (; i < n; ++i) {
        t += a[i] * f16_to_f32(b[i]);
    }
    return t;
}

__attribute__((target("avx2,fma,f16c"))) float dot_h_avx2(const float* a, const std::uint16_t* b,
                                                          std::size_t n) {
    return dot_h_body(a, b, n);
}

__attribute__((target("avx2,fma,f16c"))) void dot_rows_h_avx2(const float* a,
                                                              const std::uint16_t* x,
                                                              std::size_t stride, std::size_t count,
                                                              std::size_t n, float* out) {
    for (std::size_t j = 0; j < count; ++j) {
        out[j] = dot_h_body(a, x + j * stride, n);
    }
}

// 64 outputs at a time stay in eight registers across all rows.
__attribute__((target("avx2,fma,f16c"))) void
axpy_rows_h_avx2(const float* p, const std::uint16_t* x, std::size_t stride, std::size_t count,
                 std::size_t n, float* y) {
    std::size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m256 acc[8];
        for (int c = 0; c < 8; ++c) {
            acc[c] = _mm256_loadu_ps(y + i + 8 * c);
        }
        for (std::size_t j = 0; j < count; ++j) {
            const __m256 va = _mm256_set1_ps(p[j]);
            const std::uint16_t* row = x + j * stride + i;
            for (int c = 0; c < 8; ++c) {
                acc[c] = _mm256_fmadd_ps(va, load_h(row + 8 * c), acc[c]);
            }
        }
        for (int c = 0; c < 8; ++c) {
            _mm256_storeu_ps(y + i + 8 * c, acc[c]);
        }
    }
    for (; i + 8 <= n; i += 8) {
        __m256 acc = _mm256_loadu_ps(y + i);
        for (std::size_t j = 0; j < count; ++j) {
            acc = _mm256_fmadd_ps(_mm256_set1_ps(p[j]), load_h(x + j * stride + i), acc);
        }
        _mm256_storeu_ps(y + i, acc);
    }
    for (; i < n; ++i) {
        float v = y[i];
        for (std::size_t j = 0; j < count; ++j) {
            v += p[j] * f16_to_f32(x[j * stride + i]);
        }
        y[i] = v;
    }
}

__attribute__((target("avx2,fma,f16c"))) void axpy_h_avx2(float a, const std::uint16_t* x, float* y,
                                                          std::size_t n) {
    const __m256 va = _mm256_set1_ps(a);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load_h(x + i), _mm256_loadu_ps(y + i)));
    }
    for (; i < n; ++i) {
        y[i] += a * f16_to_f32(x[i]);
    }
}

__attribute__((target("avx2,fma"))) float dot_avx2(const float* a, const float* b, std::size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    }
    s0 = _mm256_add_ps(s0, s1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float t = _mm_cvtss_f32(h);
    for (; i < n; ++i) {
        t += a[i] * b[i];
    }
    return t;
}

__attribute__((target("avx2,fma"))) void axpy_avx2(float a, const float* x, float* y,
                                                   std::size_t n) {
    const __m256 va = _mm256_set1_ps(a);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(y + i,
                         _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    }
    for (; i < n; ++i) {
        y[i] += a * x[i];
    }
}
#endif

constexpr vec_ops portable{dot_portable,    axpy_portable,       dot_h_portable,
                           axpy_h_portable, dot_rows_h_portable, axpy_rows_h_portable};
#if defined(__x86_64__)
constexpr vec_ops avx2{dot_avx2,    axpy_avx2,       dot_h_avx2,
                       axpy_h_avx2, dot_rows_h_avx2, axpy_rows_h_avx2};
#endif

} // namespace

const vec_ops& active_vec_ops() {
#if defined(__x86_64__)
    if (active_isa() != isa::scalar) { // AVX-512 runs these AVX2 bodies too
        return avx2;
    }
#endif
    return portable;
}

} // namespace radixrt::kernels
