#include "kernels/matmul.hpp"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cpu.hpp"
#include "kernels/reference.hpp"
#include "tests/kernels/isa_levels.hpp"

namespace rk = radixrt::kernels;

namespace {

struct matmul_case {
    rk::dtype type;
    std::size_t n, rows, cols;
};

// Random weights of the given type plus random input; checks every ISA level
// against the double-accumulating reference with a bound scaled by sum|x||w|.
void check(const matmul_case& c, rk::isa level) {
    std::mt19937 rng(unsigned(c.n * 131 + c.rows * 7 + c.cols));
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> wf(c.rows * c.cols), x(c.n * c.cols);
    for (auto& v : wf) {
        v = u(rng);
    }
    for (auto& v : x) {
        v = u(rng);
    }
    std::vector<char> wq(c.rows * rk::row_bytes(c.type, c.cols));
    for (std::size_t r = 0; r < c.rows; ++r) {
        rk::quantize_row(c.type, wf.data() + r * c.cols, c.cols,
                         wq.data() + r * rk::row_bytes(c.type, c.cols));
    }
    rk::weight_view w{c.type, wq.data(), c.rows, c.cols};
    std::vector<float> want(c.n * c.rows), got(c.n * c.rows, NAN);
    rk::reference::matmul(x.data(), c.n, w, want.data());
    rk::test::isa_guard guard;
    rk::set_isa(level);
    rk::matmul(x.data(), c.n, w, got.data());
    for (std::size_t i = 0; i < want.size(); ++i) {
        // |x|,|w| <= 1: float accumulation error stays well below 1e-5 * cols.
        ASSERT_NEAR(got[i], want[i], 2e-6 * double(c.cols) + 1e-5)
            << rk::dtype_name(c.type) << " n=" << c.n << " rows=" << c.rows << " cols=" << c.cols
            << " isa=" << rk::isa_name(level) << " at " << i;
    }
}

} // namespace

// (Quantized weights take the integer path: tests/kernels/quant_test.cpp.)
TEST(matmul, matches_reference_on_odd_shapes) {
    const std::size_t ns[] = {1, 2, 3, 4, 5, 7, 13, 64};
    for (auto type : {rk::dtype::f32, rk::dtype::f16, rk::dtype::bf16}) {
        for (std::size_t n : ns) {
            for (std::size_t rows : {1u, 3u, 17u, 33u}) {
                for (std::size_t cols : {32u, 96u, 7u, 13u, 100u, 160u}) {
                    if (!rk::row_size_ok(type, cols)) {
                        continue;
                    }
                    for (auto level : rk::test::supported_levels()) {
                        check({type, n, rows, cols}, level);
                    }
                }
            }
        }
    }
}

TEST(matmul, large_parallel_shapes) {
    for (auto type : {rk::dtype::f16, rk::dtype::bf16}) {
        check({type, 1, 1000, 256}, rk::active_isa());
        check({type, 37, 300, 512}, rk::active_isa());
    }
}

// A row's result must not depend on the other rows of the call: every n
// takes the same accumulation order per output, so row r of a batched call
// equals, bit for bit, the same row computed alone (GEMV vs GEMM paths).
TEST(matmul, batch_invariant_bit_for_bit) {
    for (auto type : rk::all_dtypes) {
        for (std::size_t cols : {64u, 96u, 100u, 768u}) { // 96: an odd number of 32-blocks
            if (!rk::row_size_ok(type, cols)) {
                continue;
            }
            const std::size_t rows = 37, n = 11;
            std::mt19937 rng{unsigned(cols)};
            std::uniform_real_distribution<float> u(-1.0f, 1.0f);
            std::vector<float> wf(rows * cols), x(n * cols);
            for (auto& v : wf) {
                v = u(rng);
            }
            for (auto& v : x) {
                v = u(rng);
            }
            std::vector<char> wq(rows * rk::row_bytes(type, cols));
            for (std::size_t r = 0; r < rows; ++r) {
                rk::quantize_row(type, wf.data() + r * cols, cols,
                                 wq.data() + r * rk::row_bytes(type, cols));
            }
            rk::weight_view w{type, wq.data(), rows, cols};
            rk::test::isa_guard guard;
            for (auto level : rk::test::supported_levels()) {
                rk::set_isa(level);
                std::vector<float> all(n * rows);
                rk::matmul(x.data(), n, w, all.data());
                for (std::size_t take : {1u, 2u, 3u, 4u}) { // slices of the call, alone
                    for (std::size_t r = 0; r + take <= n; r += take) {
                        std::vector<float> part(take * rows);
                        rk::matmul(x.data() + r * cols, take, w, part.data());
                        for (std::size_t i = 0; i < part.size(); ++i) {
                            ASSERT_EQ(part[i], all[r * rows + i])
                                << rk::dtype_name(type) << " cols=" << cols << " take=" << take
                                << " isa " << rk::isa_name(level);
                        }
                    }
                }
            }
        }
    }
}
