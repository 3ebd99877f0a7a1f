// The body of paged attention, generic over a vector-ops struct S. Included
// by attention.cpp (portable ops), attention_avx2.cpp and
// attention_avx512.cpp after their target pragmas, inside an anonymous
// namespace, so each gets its own instantiation. No #pragma once and no
// includes: the including file provides both (kernels/attention_detail.hpp).
//
// S provides: vec, width W, zero(), set1(), load(p) / load_n(p, n) of
// float or IEEE-half elements (n < W: zeros after), store(), store_n(),
// fma(a, b, c) = a * b + c, mul(), add(), max(), hmax(), hsum(), exp(),
// round_h() (through IEEE half) and reduce(v) (lane i = the sum of the lanes
// of v[i], by a tree that is the same for every i).
//
// Per query, the arithmetic depends only on that query and the keys it
// sees, never on the other queries of the call: each score is the chain
// q[0:W] k[0:W], + q[W:2W] k[W:2W], ... reduced by reduce()'s tree; the
// softmax runs over the query's keys from its first visible key in steps of
// W; the output sums p_j v_j over keys j in order. So a token's attention is
// bit-identical in prefill, in decode, under any chunking and in any batch.

// Scores of `count` keys, rows `stride` elements apart: s[j] = q . key j.
// Chunk c of W elements goes into accumulator c % S::chains, the chains are
// added pairwise, then reduce()'s tree sums the lanes: 16 lanes in one
// chain, 8 lanes in two or 1 lane in eight chains all give the order of the
// kernels before these (and of ggml's dot products): 8 interleaved partial
// sums, then a fixed tree.
template <class S, class E>
void scores(const float* q, std::size_t hd, const E* keys, std::size_t stride, std::size_t count,
            float* s) {
    constexpr std::size_t W = S::width, C = S::chains;
    const std::size_t full = hd / W, rest = hd % W;
    for (std::size_t j0 = 0; j0 < count; j0 += W) {
        const std::size_t nk = std::min(W, count - j0);
        typename S::vec acc[C][W];
        for (std::size_t i = 0; i < W; ++i) {
            for (std::size_t m = 0; m < C; ++m) {
                acc[m][i] = S::zero();
            }
        }
        for (std::size_t c = 0; c < full; ++c) {
            const auto qv = S::load(q + c * W);
            for (std::size_t i = 0; i < nk; ++i) {
                acc[c % C][i] = S::fma(qv, S::load(keys + (j0 + i) * stride + c * W), acc[c % C][i]);
            }
        }
        if (rest != 0) {
            const auto qv = S::load_n(q + full * W, rest);
            for (std::size_t i = 0; i < nk; ++i) {
                acc[full % C][i] = S::fma(qv, S::load_n(keys + (j0 + i) * stride + full * W, rest),
                                          acc[full % C][i]);
            }
        }
        for (std::size_t step = 1; step < C; step *= 2) { // ((a0 + a1) + (a2 + a3)) + ...
            for (std::size_t m = 0; m + step < C; m += 2 * step) {
                for (std::size_t i = 0; i < nk; ++i) {
                    acc[m][i] = S::add(acc[m][i], acc[m + step][i]);
                }
            }
        }
        S::store_n(s + j0, S::reduce(acc[0]), nk);
    }
}

// o (hd) += sum_j p[j] * value row j, j = 0 .. count - 1 in order; NG
// vectors of o at a time stay in registers across the rows.
template <class S, int NG, class E>
void accumulate_rows(const float* p, const E* rows, std::size_t stride, std::size_t count,
                     std::size_t hd, std::size_t c0, float* o) {
    constexpr std::size_t W = S::width;
    typename S::vec acc[NG];
    for (int c = 0; c < NG; ++c) {
        acc[c] = S::load(o + (c0 + std::size_t(c)) * W);
    }
    const bool tail = (c0 + NG) * W > hd; // the last vector is partial
    for (std::size_t j = 0; j < count; ++j) {
        const auto pv = S::set1(p[j]);
        const E* row = rows + j * stride + c0 * W;
        for (int c = 0; c < NG; ++c) {
            const auto v = tail && c == NG - 1 ? S::load_n(row + c * W, hd - (c0 + c) * W)
                                               : S::load(row + c * W);
            acc[c] = S::fma(pv, v, acc[c]);
        }
    }
    for (int c = 0; c < NG; ++c) {
        S::store(o + (c0 + std::size_t(c)) * W, acc[c]);
    }
}

template <class S, class E>
void accumulate(const float* p, const E* rows, std::size_t stride, std::size_t count,
                std::size_t hd, float* o) {
    constexpr std::size_t W = S::width;
    const std::size_t vecs = (hd + W - 1) / W;
    std::size_t c0 = 0;
    for (; c0 + 8 <= vecs; c0 += 8) {
        accumulate_rows<S, 8>(p, rows, stride, count, hd, c0, o);
    }
    switch (vecs - c0) {
    case 7: return accumulate_rows<S, 7>(p, rows, stride, count, hd, c0, o);
    case 6: return accumulate_rows<S, 6>(p, rows, stride, count, hd, c0, o);
    case 5: return accumulate_rows<S, 5>(p, rows, stride, count, hd, c0, o);
    case 4: return accumulate_rows<S, 4>(p, rows, stride, count, hd, c0, o);
    case 3: return accumulate_rows<S, 3>(p, rows, stride, count, hd, c0, o);
    case 2: return accumulate_rows<S, 2>(p, rows, stride, count, hd, c0, o);
    case 1: return accumulate_rows<S, 1>(p, rows, stride, count, hd, c0, o);
    default: return;
    }
}

// s (n) = softmax(scale * cap(s)), in steps of W from s[0]; with `half` the
// weights are rounded to IEEE half, as llama.cpp's F16 matmul sees them.
template <class S>
void softmax_row(float* s, std::size_t n, const attention_options& opt, bool half) {
    constexpr std::size_t W = S::width;
    if (opt.softcap > 0.0f) {
        const float inv = 1.0f / opt.softcap;
        for (std::size_t j = 0; j < n; ++j) {
            s[j] = std::tanh(s[j] * inv) * opt.softcap;
        }
    }
    const auto scale = S::set1(opt.scale);
    auto mx = S::set1(-INFINITY);
    for (std::size_t j = 0; j < n; j += W) {
        const std::size_t m = std::min(W, n - j);
        const auto v = S::mul(S::load_n_fill(s + j, m, -INFINITY), scale);
        S::store_n(s + j, v, m);
        mx = S::max(mx, v);
    }
    const auto top = S::set1(S::hmax(mx));
    for (std::size_t j = 0; j < n; j += W) {
        const std::size_t m = std::min(W, n - j);
        S::store_n(s + j, S::exp(S::sub(S::load_n(s + j, m), top)), m);
    }
    float sum = 0.0f; // in key order, as before the vector kernels
    for (std::size_t j = 0; j < n; ++j) {
        sum += s[j];
    }
    const auto inv = S::set1(1.0f / sum);
    for (std::size_t j = 0; j < n; j += W) {
        const std::size_t m = std::min(W, n - j);
        const auto p = S::mul(S::load_n(s + j, m), inv);
        S::store_n(s + j, half ? S::round_h(p) : p, m);
    }
}

// The keys (or values) [lo, hi) of one KV head: either read in place through
// the block table (a run per block) or, when several queries share them,
// converted once to contiguous F32 rows of hp elements (zero padded). Both
// give the same floats, so the arithmetic is the same.
template <class E> struct kv_rows {
    const paged_seq* seq;
    const E* arena;
    const kv_layout* l;
    std::size_t kv_head;

    // fn(first key, pointer to its row, row stride, count) per block run of [lo, hi)
    template <class Fn> void runs(std::size_t lo, std::size_t hi, Fn&& fn) const {
        const std::size_t bs = l->block_size, te = l->token_elems();
        for (std::size_t j = lo; j < hi;) {
            const std::size_t end = std::min(hi, (j / bs + 1) * bs);
            const E* row = arena + std::size_t(seq->block_table[j / bs]) * l->block_elems() +
                           (j % bs) * te + kv_head * l->head_dim;
            fn(j, row, te, end - j);
            j = end;
        }
    }
};

template <class S, class E>
void convert_rows(const kv_rows<E>& src, std::size_t lo, std::size_t hi, std::size_t hp,
                  float* dst) {
    constexpr std::size_t W = S::width;
    const std::size_t hd = src.l->head_dim;
    src.runs(lo, hi, [&](std::size_t j, const E* row, std::size_t stride, std::size_t n) {
        for (std::size_t r = 0; r < n; ++r) {
            float* d = dst + (j - lo + r) * hp;
            for (std::size_t c = 0; c < hp; c += W) {
                S::store(d + c, c + W <= hd ? S::load(row + r * stride + c)
                                            : S::load_n(row + r * stride + c, hd - c));
            }
        }
    });
}

struct attn_scratch {
    std::vector<float> q, k, v, s, o;
};

// Queries t0 .. t0 + nt - 1 of one sequence, the query heads of one KV head.
template <class S, class E>
void attend_item(const attn_args& a, const attn_item& it, attn_scratch& sc) {
    constexpr std::size_t W = S::width;
    constexpr bool half = std::is_same_v<E, std::uint16_t>;
    const kv_layout& l = a.layout;
    const paged_seq& seq = a.seqs[it.seq];
    const std::size_t hd = l.head_dim, hp = (hd + W - 1) / W * W;
    const std::size_t group = a.n_heads / l.n_kv_heads, rows = it.nt * group;
    const auto first_key = [&](std::size_t n_ctx) {
        return a.opt.window != 0 && n_ctx > a.opt.window ? n_ctx - a.opt.window : 0;
    };
    const std::size_t hi = seq.n_past + it.t0 + it.nt, lo = first_key(seq.n_past + it.t0 + 1);
    const kv_rows<E> keys{&seq, static_cast<const E*>(a.k_arena), &l, it.kv_head};
    const kv_rows<E> values{&seq, static_cast<const E*>(a.v_arena), &l, it.kv_head};
    const bool shared = rows > 1; // convert K/V once for all the rows
    if (shared) {
        sc.k.resize((hi - lo) * hp);
        sc.v.resize((hi - lo) * hp);
        convert_rows<S>(keys, lo, hi, hp, sc.k.data());
        convert_rows<S>(values, lo, hi, hp, sc.v.data());
    }
    sc.q.assign(hp, 0.0f);
    sc.o.resize(hp);
    sc.s.resize(hi - lo + W);
    for (std::size_t r = 0; r < rows; ++r) {
        const std::size_t t = it.t0 + r / group, h = it.kv_head * group + r % group;
        const std::size_t n_ctx = seq.n_past + t + 1, first = first_key(n_ctx);
        const float* qh = a.q + ((seq.q_row + t) * a.n_heads + h) * hd;
        for (std::size_t i = 0; i < hd; ++i) { // F16 K: llama.cpp rounds Q to half too
            sc.q[i] = half ? f16_to_f32(f32_to_f16(qh[i])) : qh[i];
        }
        float* s = sc.s.data();
        if (shared) {
            scores<S>(sc.q.data(), hd, sc.k.data() + (first - lo) * hp, hp, n_ctx - first, s);
        } else {
            keys.runs(first, n_ctx, [&](std::size_t j, const E* row, std::size_t st, std::size_t n) {
                scores<S>(sc.q.data(), hd, row, st, n, s + (j - first));
            });
        }
        softmax_row<S>(s, n_ctx - first, a.opt, half);
        std::fill(sc.o.begin(), sc.o.end(), 0.0f);
        if (shared) {
            accumulate<S>(s, sc.v.data() + (first - lo) * hp, hp, n_ctx - first, hd, sc.o.data());
        } else {
            values.runs(first, n_ctx, [&](std::size_t j, const E* row, std::size_t st, std::size_t n) {
                accumulate<S>(s + (j - first), row, st, n, hd, sc.o.data());
            });
        }
        std::copy_n(sc.o.data(), hd, a.out + ((seq.q_row + t) * a.n_heads + h) * hd);
    }
}

template <class S>
void attend_items(const attn_args& a, const attn_item* items, std::size_t count) {
    thread_local attn_scratch sc;
    for (std::size_t i = 0; i < count; ++i) {
        if (a.layout.f16) {
            attend_item<S, std::uint16_t>(a, items[i], sc);
        } else {
            attend_item<S, float>(a, items[i], sc);
        }
    }
}
