#include "kernels/attention.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cpu.hpp"
#include "kernels/dtype.hpp"
#include "kernels/reference.hpp"
#include "kernels/vec.hpp"
#include "tests/kernels/isa_levels.hpp"

namespace rk = radixrt::kernels;

namespace {

struct seq_data {
    std::size_t n_past, n_new;
    std::vector<float> q, k, v; // contiguous: q (n_new, H, hd), k/v (n_past+n_new, KVH, hd)
    std::vector<std::int32_t> table;
};

// Builds sequences with random contents, scatters their K/V into shuffled
// arena blocks, runs one batched paged call, and compares every sequence with
// contiguous reference attention.
// With f16, the arena holds IEEE half K/V and the reference sees the same
// rounded values (the query and the softmax weights are rounded to half as
// llama.cpp's F16 matmuls do, hence the looser tolerance).
void run_case(std::vector<std::pair<std::size_t, std::size_t>> shapes, std::size_t heads,
              std::size_t kv_heads, std::size_t hd, std::size_t block_size, unsigned seed,
              bool f16 = false) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd;
    rk::kv_layout layout{block_size, kv_heads, hd, f16};
    std::size_t total_blocks = 0;
    for (auto [past, add] : shapes) {
        total_blocks += (past + add + block_size - 1) / block_size;
    }
    std::vector<std::int32_t> ids(total_blocks + 3);
    std::iota(ids.begin(), ids.end(), 0);
    std::shuffle(ids.begin(), ids.end(), rng);
    std::vector<float> karena(ids.size() * layout.block_elems(), NAN), varena(karena.size(), NAN);

    std::vector<seq_data> data;
    std::size_t next_id = 0, rows = 0;
    for (auto [past, add] : shapes) {
        seq_data s{past, add, {}, {}, {}, {}};
        const std::size_t ctx = past + add;
        s.q.resize(add * heads * hd);
        s.k.resize(ctx * kv_heads * hd);
        s.v.resize(s.k.size());
        for (auto* vec : {&s.q, &s.k, &s.v}) {
            for (auto& x : *vec) {
                x = nd(rng);
                if (f16 && vec != &s.q) {
                    x = rk::f16_to_f32(rk::f32_to_f16(x));
                }
            }
        }
        for (std::size_t b = 0; b < (ctx + block_size - 1) / block_size; ++b) {
            s.table.push_back(ids[next_id++]);
        }
        for (std::size_t j = 0; j < ctx; ++j) {
            std::copy_n(s.k.data() + j * layout.token_elems(), layout.token_elems(),
                        karena.data() + layout.offset(s.table.data(), j));
            std::copy_n(s.v.data() + j * layout.token_elems(), layout.token_elems(),
                        varena.data() + layout.offset(s.table.data(), j));
        }
        rows += add;
        data.push_back(std::move(s));
    }
    std::vector<float> q(rows * heads * hd), out(q.size(), NAN);
    std::vector<rk::paged_seq> seqs;
    std::size_t row = 0;
    for (auto& s : data) {
        std::copy(s.q.begin(), s.q.end(), q.begin() + std::ptrdiff_t(row * heads * hd));
        seqs.push_back({s.table.data(), s.n_past, s.n_new, row});
        row += s.n_new;
    }
    std::vector<std::uint16_t> karena_h(karena.size()), varena_h(varena.size());
    for (std::size_t i = 0; i < karena.size(); ++i) {
        karena_h[i] = rk::f32_to_f16(karena[i]);
        varena_h[i] = rk::f32_to_f16(varena[i]);
    }
    const void* ka = f16 ? static_cast<const void*>(karena_h.data()) : karena.data();
    const void* va = f16 ? static_cast<const void*>(varena_h.data()) : varena.data();
    const float scale = 1.0f / std::sqrt(float(hd));
    const float tol = f16 ? 2e-3f : 1e-4f;
    rk::test::isa_guard guard;
    for (auto level : rk::test::supported_levels()) {
        rk::set_isa(level);
        rk::paged_attention(q.data(), out.data(), seqs, ka, va, layout, heads, scale);
        row = 0;
        for (auto& s : data) {
            std::vector<float> want(s.q.size());
            rk::reference::attention(s.q.data(), s.k.data(), s.v.data(), s.n_new, s.n_past, heads,
                                     kv_heads, hd, scale, want.data());
            for (std::size_t i = 0; i < want.size(); ++i) {
                ASSERT_NEAR(out[row * heads * hd + i], want[i], tol)
                    << "heads=" << heads << " kv=" << kv_heads << " past=" << s.n_past
                    << " new=" << s.n_new;
            }
            row += s.n_new;
        }
    }
}

} // namespace

TEST(paged_attention, prefill_equals_contiguous_for_gqa_ratios) {
    for (std::size_t ratio : {1u, 2u, 4u, 8u}) {
        run_case({{0, 37}}, 8, 8 / ratio, 16, 16, unsigned(ratio));
        run_case({{21, 19}}, 8, 8 / ratio, 12, 16,
                 unsigned(ratio + 10)); // cached prefix + new tokens
    }
}

TEST(paged_attention, batched_decode_and_mixed_batches) {
    run_case({{5, 1}, {31, 1}, {0, 1}, {64, 1}}, 4, 2, 8, 16, 1);
    run_case({{16, 1}, {3, 9}, {40, 25}}, 4, 1, 20, 16, 2); // decode + prefill in one call
}

TEST(paged_attention, odd_block_sizes) {
    for (std::size_t bs : {1u, 3u, 7u, 32u}) {
        run_case({{10, 6}, {0, 2}}, 6, 3, 5, bs, unsigned(bs));
    }
}

TEST(paged_attention, f16_cache_matches_the_rounded_reference) {
    run_case({{0, 37}}, 8, 2, 16, 16, 1, true);
    run_case({{21, 19}, {5, 1}, {64, 1}}, 8, 4, 64, 16, 2, true); // head_dim 64: full vectors
    for (std::size_t bs : {1u, 7u, 32u}) {
        run_case({{10, 6}, {0, 2}}, 6, 3, 13, bs, unsigned(bs) + 3, true);
    }
}

// The row-batched F16 primitives promise the same bits as the loop of
// single-row calls they replace, on every ISA and odd lengths.
TEST(vec_ops, row_batched_half_ops_equal_the_single_row_loop) {
    std::mt19937 rng(7);
    std::normal_distribution<float> nd;
    rk::test::isa_guard guard;
    for (auto level : rk::test::supported_levels()) {
        rk::set_isa(level);
        const auto& ops = rk::active_vec_ops();
        for (std::size_t n : {1u, 7u, 8u, 31u, 64u, 65u, 128u, 133u}) {
            for (std::size_t count : {1u, 3u, 16u}) {
                const std::size_t stride = n + 5;
                std::vector<std::uint16_t> x(stride * count);
                for (auto& e : x) {
                    e = rk::f32_to_f16(nd(rng));
                }
                std::vector<float> a(n), p(count);
                for (auto& e : a) {
                    e = nd(rng);
                }
                for (auto& e : p) {
                    e = nd(rng);
                }
                std::vector<float> got(count), y_rows(n, 0.5f), y_loop(n, 0.5f);
                ops.dot_rows_h(a.data(), x.data(), stride, count, n, got.data());
                ops.axpy_rows_h(p.data(), x.data(), stride, count, n, y_rows.data());
                for (std::size_t j = 0; j < count; ++j) {
                    EXPECT_EQ(got[j], ops.dot_h(a.data(), x.data() + j * stride, n))
                        << "n=" << n << " row " << j;
                    ops.axpy_h(p[j], x.data() + j * stride, y_loop.data(), n);
                }
                EXPECT_EQ(y_rows, y_loop) << "n=" << n << " count=" << count;
            }
        }
    }
}

// Sliding window and soft cap against a direct evaluation of the formula:
// query position p sees keys max(0, p - w + 1) .. p, each score is
// cap * tanh(q.k / cap) * scale.
TEST(paged_attention, sliding_window_and_soft_cap) {
    const std::size_t heads = 4, kv_heads = 2, hd = 8, bs = 4, past = 9, add = 7;
    const std::size_t ctx = past + add;
    std::mt19937 rng(11);
    std::normal_distribution<float> nd(0.0f, 2.0f);
    rk::kv_layout layout{bs, kv_heads, hd, false};
    std::vector<std::int32_t> table;
    for (std::size_t b = 0; b < (ctx + bs - 1) / bs; ++b) {
        table.push_back(std::int32_t(table.size() * 2 + 1)); // scattered blocks
    }
    std::vector<float> k(ctx * kv_heads * hd), v(k.size()), q(add * heads * hd);
    for (auto* vec : {&k, &v, &q}) {
        for (auto& x : *vec) {
            x = nd(rng);
        }
    }
    std::vector<float> karena((table.back() + 1) * layout.block_elems(), NAN),
        varena(karena.size(), NAN);
    for (std::size_t j = 0; j < ctx; ++j) {
        std::copy_n(k.data() + j * hd * kv_heads, hd * kv_heads,
                    karena.data() + layout.offset(table.data(), j));
        std::copy_n(v.data() + j * hd * kv_heads, hd * kv_heads,
                    varena.data() + layout.offset(table.data(), j));
    }
    const rk::paged_seq seq{table.data(), past, add, 0};
    for (std::size_t window : {0u, 1u, 3u, 5u, 12u, 40u}) {
        for (float cap : {0.0f, 2.5f}) {
            rk::attention_options opt;
            opt.scale = 0.3f;
            opt.softcap = cap;
            opt.window = window;
            std::vector<float> out(q.size(), NAN);
            rk::paged_attention(q.data(), out.data(), {&seq, 1}, karena.data(), varena.data(),
                                layout, heads, opt);
            for (std::size_t t = 0; t < add; ++t) {
                const std::size_t p = past + t;
                const std::size_t lo = window != 0 && p + 1 > window ? p + 1 - window : 0;
                for (std::size_t h = 0; h < heads; ++h) {
                    const std::size_t g = h / (heads / kv_heads);
                    std::vector<double> w;
                    double mx = -1e300, sum = 0;
                    for (std::size_t j = lo; j <= p; ++j) {
                        double d = 0;
                        for (std::size_t i = 0; i < hd; ++i) {
                            d += double(q[(t * heads + h) * hd + i]) *
                                 k[(j * kv_heads + g) * hd + i];
                        }
                        if (cap > 0) {
                            d = cap * std::tanh(d / cap);
                        }
                        w.push_back(d * opt.scale);
                        mx = std::max(mx, w.back());
                    }
                    for (auto& x : w) {
                        x = std::exp(x - mx);
                        sum += x;
                    }
                    for (std::size_t i = 0; i < hd; ++i) {
                        double want = 0;
                        for (std::size_t j = lo; j <= p; ++j) {
                            want += w[j - lo] / sum * v[(j * kv_heads + g) * hd + i];
                        }
                        ASSERT_NEAR(out[(t * heads + h) * hd + i], want, 1e-4)
                            << "window " << window << " cap " << cap << " t " << t;
                    }
                }
            }
        }
    }
}

// A query's output does not depend on the call it runs in: a prefill of many
// tokens (key tiles, rows in pairs and fours, shared converted K/V) gives
// every token the bits it gets alone as a one-token decode step, at every
// ISA level, for F32 and F16 caches, GQA groups, windows and soft caps, with
// contexts longer than one key tile and head sizes that are not a whole
// number of vectors.
TEST(paged_attention, prefill_rows_equal_single_decode_steps_bit_for_bit) {
    struct shape {
        std::size_t heads, kv_heads, hd, past, add, window;
        float cap;
        std::size_t bs = 16;
    };
    // No GQA pairs KV heads in decode (odd counts leave one on its own);
    // head sizes that are not whole vectors at every width; several key tiles.
    const shape shapes[] = {{4, 4, 64, 0, 150, 0, 0.0f},      {8, 2, 64, 37, 90, 0, 0.0f},
                            {6, 3, 13, 5, 77, 0, 0.0f},       {4, 1, 24, 20, 70, 33, 0.0f},
                            {4, 2, 40, 0, 67, 0, 2.5f},       {2, 2, 128, 100, 45, 60, 0.0f},
                            {3, 3, 13, 7, 60, 0, 0.0f, 7},    {5, 5, 40, 0, 70, 25, 2.5f},
                            {4, 2, 24, 0, 300, 0, 0.0f, 7}};
    rk::test::isa_guard guard;
    for (bool f16 : {false, true}) {
        for (const auto& sh : shapes) {
            const std::size_t bs = sh.bs, ctx = sh.past + sh.add;
            rk::kv_layout layout{bs, sh.kv_heads, sh.hd, f16};
            std::vector<std::int32_t> table;
            for (std::size_t b = 0; b < (ctx + bs - 1) / bs; ++b) {
                table.push_back(std::int32_t(((b * 7) % ((ctx + bs - 1) / bs)))); // scattered
            }
            std::mt19937 rng(unsigned(sh.hd * 31 + sh.add));
            std::normal_distribution<float> nd;
            std::vector<float> karena(table.size() * layout.block_elems()), varena(karena.size());
            for (auto* a : {&karena, &varena}) {
                for (auto& x : *a) {
                    x = nd(rng);
                }
            }
            std::vector<std::uint16_t> kh(karena.size()), vh(varena.size());
            for (std::size_t i = 0; i < kh.size(); ++i) {
                kh[i] = rk::f32_to_f16(karena[i]);
                vh[i] = rk::f32_to_f16(varena[i]);
            }
            const void* ka = f16 ? static_cast<const void*>(kh.data()) : karena.data();
            const void* va = f16 ? static_cast<const void*>(vh.data()) : varena.data();
            std::vector<float> q(sh.add * sh.heads * sh.hd);
            for (auto& x : q) {
                x = nd(rng);
            }
            rk::attention_options opt;
            opt.scale = 1.0f / std::sqrt(float(sh.hd));
            opt.softcap = sh.cap;
            opt.window = sh.window;
            for (auto level : rk::test::supported_levels()) {
                rk::set_isa(level);
                std::vector<float> all(q.size(), NAN);
                const rk::paged_seq seq{table.data(), sh.past, sh.add, 0};
                rk::paged_attention(q.data(), all.data(), {&seq, 1}, ka, va, layout, sh.heads,
                                    opt);
                const std::size_t row = sh.heads * sh.hd;
                for (std::size_t t = 0; t < sh.add; ++t) {
                    std::vector<float> one(row, NAN);
                    const rk::paged_seq step{table.data(), sh.past + t, 1, 0};
                    rk::paged_attention(q.data() + t * row, one.data(), {&step, 1}, ka, va,
                                        layout, sh.heads, opt);
                    for (std::size_t i = 0; i < row; ++i) {
                        ASSERT_EQ(one[i], all[t * row + i])
                            << "f16 " << f16 << " heads " << sh.heads << "/" << sh.kv_heads
                            << " hd " << sh.hd << " token " << t << " isa "
                            << rk::isa_name(level);
                    }
                }
            }
        }
    }
}
