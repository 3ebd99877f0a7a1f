// The panel GEMM behind float matmuls (kernels/gemm.hpp): weights packed
// once give the same bits as weights packed per call, the panels hold W
// exactly, and a row's result never depends on the other rows of the call,
// including row counts that take the K-blocked path (more rows than one
// micro tile) and the last, partial panel.
#include "kernels/gemm.hpp"

#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cpu.hpp"
#include "kernels/reference.hpp"
#include "tests/kernels/isa_levels.hpp"

namespace rk = radixrt::kernels;

namespace {

struct matrix {
    std::vector<char> bytes;
    rk::weight_view view;
};

matrix random_matrix(rk::dtype t, std::size_t rows, std::size_t cols, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> row(cols);
    matrix m;
    m.bytes.resize(rows * rk::row_bytes(t, cols));
    for (std::size_t r = 0; r < rows; ++r) {
        for (auto& v : row) {
            v = u(rng);
        }
        rk::quantize_row(t, row.data(), cols, m.bytes.data() + r * rk::row_bytes(t, cols));
    }
    m.view = {t, m.bytes.data(), rows, cols};
    return m;
}

std::vector<float> random_input(std::size_t n, std::size_t cols, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> x(n * cols);
    for (auto& v : x) {
        v = u(rng);
    }
    return x;
}

constexpr rk::dtype float_types[] = {rk::dtype::f32, rk::dtype::f16, rk::dtype::bf16};

} // namespace

// Element (p, k, j) of the panels is W[p * 32 + j, k], bit for bit, and zero
// past W's last row.
TEST(gemm, panels_hold_the_matrix_exactly) {
    for (auto t : float_types) {
        const std::size_t rows = 45, cols = 7;
        const matrix m = random_matrix(t, rows, cols, 3);
        const rk::packed_weights p(m.view);
        ASSERT_EQ(p.bytes(), rk::packed_bytes(m.view));
        const std::size_t es = t == rk::dtype::f32 ? 4 : 2;
        const auto* panels = static_cast<const unsigned char*>(p.data());
        for (std::size_t pi = 0; pi < rk::panel_count(rows); ++pi) {
            for (std::size_t k = 0; k < cols; ++k) {
                for (std::size_t j = 0; j < rk::panel_width; ++j) {
                    const unsigned char* got = panels + ((pi * cols + k) * rk::panel_width + j) * es;
                    const std::size_t r = pi * rk::panel_width + j;
                    std::vector<unsigned char> want(es, 0);
                    if (r < rows) {
                        std::memcpy(want.data(),
                                    static_cast<const unsigned char*>(m.view.row(r)) + k * es, es);
                    }
                    ASSERT_EQ(std::memcmp(got, want.data(), es), 0)
                        << rk::dtype_name(t) << " panel " << pi << " k " << k << " j " << j;
                }
            }
        }
    }
}

// Weights packed at load (panels attached) and weights packed for the call
// agree bit for bit, alone and through matmul_many, at every ISA level; both
// match the double-accumulating reference.
TEST(gemm, attached_panels_match_per_call_packing) {
    rk::test::isa_guard guard;
    for (auto t : float_types) {
        for (std::size_t n : {1u, 5u, 12u, 13u, 100u}) {
            const std::size_t cols = 1100; // more than one K block of 1024
            const matrix a = random_matrix(t, 70, cols, 11), b = random_matrix(t, 33, cols, 12);
            const rk::packed_weights pa(a.view), pb(b.view);
            const rk::weight_view va = pa.attach(a.view), vb = pb.attach(b.view);
            const auto x = random_input(n, cols, unsigned(n));
            std::vector<float> want(n * 70);
            rk::reference::matmul(x.data(), n, a.view, want.data());
            for (auto level : rk::test::supported_levels()) {
                rk::set_isa(level);
                std::vector<float> plain(n * 70), packed(n * 70), many_a(n * 70), many_b(n * 33),
                    plain_b(n * 33);
                rk::matmul(x.data(), n, a.view, plain.data());
                rk::matmul(x.data(), n, va, packed.data());
                rk::matmul(x.data(), n, b.view, plain_b.data());
                const rk::matmul_job jobs[] = {{&va, many_a.data()}, {&vb, many_b.data()}};
                rk::matmul_many(x.data(), n, jobs);
                ASSERT_EQ(plain, packed) << rk::dtype_name(t) << " n=" << n;
                ASSERT_EQ(plain, many_a) << rk::dtype_name(t) << " n=" << n;
                ASSERT_EQ(plain_b, many_b) << rk::dtype_name(t) << " n=" << n;
                for (std::size_t i = 0; i < want.size(); ++i) {
                    ASSERT_NEAR(plain[i], want[i], 2e-6 * double(cols) + 1e-5)
                        << rk::dtype_name(t) << " n=" << n << " isa " << rk::isa_name(level);
                }
            }
        }
    }
}

// A row computed alone (one streamed pass over whole panels) equals the same
// row inside a call of 150 rows (K blocks of 1024 with a shorter last one,
// several row blocks), and any slice of the call equals the whole.
TEST(gemm, batch_invariant_across_k_blocks_and_row_blocks) {
    rk::test::isa_guard guard;
    for (auto t : float_types) {
        const std::size_t n = 150, rows = 50, cols = 2500;
        const matrix m = random_matrix(t, rows, cols, 21);
        const rk::packed_weights p(m.view);
        const rk::weight_view v = p.attach(m.view);
        const auto x = random_input(n, cols, 22);
        for (auto level : rk::test::supported_levels()) {
            rk::set_isa(level);
            std::vector<float> all(n * rows);
            rk::matmul(x.data(), n, v, all.data());
            for (std::size_t take : {1u, 7u, 13u, 97u}) {
                for (std::size_t r = 0; r + take <= n; r += take * 3) {
                    std::vector<float> part(take * rows);
                    rk::matmul(x.data() + r * cols, take, v, part.data());
                    for (std::size_t i = 0; i < part.size(); ++i) {
                        ASSERT_EQ(part[i], all[r * rows + i])
                            << rk::dtype_name(t) << " take " << take << " at row " << r
                            << " isa " << rk::isa_name(level);
                    }
                }
            }
        }
    }
}
