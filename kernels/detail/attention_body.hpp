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

// W keys at once, every loop over keys and chains unrolled at compile time
// so that the accumulators stay in registers (the general loop below keeps
// them in memory); the same operations, in the same order, per key.
template <class S, class E, std::size_t... I, std::size_t... M>
void scores_full(const float* q, std::size_t hd, const E* keys, std::size_t stride, float* s,
                 std::index_sequence<I...>, std::index_sequence<M...>) {
    constexpr std::size_t W = S::width, C = S::chains;
    const std::size_t full = hd / W, rest = hd % W;
    typename S::vec acc[C][W];
    const auto zero = [&](std::size_t m) { ((acc[m][I] = S::zero()), ...); };
    (zero(M), ...);
    const auto chunk = [&](std::size_t m, std::size_t c) { // chunk c into chain m = c % C
        const auto qv = S::load(q + c * W);
        ((acc[m][I] = S::fma(qv, S::load(keys + I * stride + c * W), acc[m][I])), ...);
    };
    std::size_t c = 0;
    for (; c + C <= full; c += C) {
        (chunk(M, c + M), ...);
    }
    for (; c < full; ++c) {
        chunk(c % C, c);
    }
    if (rest != 0) {
        const auto qv = S::load_n(q + full * W, rest);
        const std::size_t m = full % C;
        ((acc[m][I] = S::fma(qv, S::load_n(keys + I * stride + full * W, rest), acc[m][I])), ...);
    }
    for (std::size_t step = 1; step < C; step *= 2) { // ((a0 + a1) + (a2 + a3)) + ...
        for (std::size_t m = 0; m + step < C; m += 2 * step) {
            ((acc[m][I] = S::add(acc[m][I], acc[m + step][I])), ...);
        }
    }
    S::store(s, S::reduce(acc[0]));
}

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
    std::size_t j0 = 0;
    for (; j0 + W <= count; j0 += W) {
        scores_full<S>(q, hd, keys + j0 * stride, stride, s + j0, std::make_index_sequence<W>(),
                       std::make_index_sequence<C>());
    }
    for (; j0 < count; j0 += W) {
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

// Two outputs at once, twice the independent FMA chains of accumulate():
// oa += sum_j pa[j] ra_j and ob += sum_j pb[j] rb_j, j in order, each lane
// the chain accumulate() gives it. Same: rb is ra (two queries over the
// same value rows), each vector loaded once for both.
template <class S, int NG, bool Same, class E>
void accumulate_two_rows(const float* pa, const float* pb, const E* ra, const E* rb,
                         std::size_t stride, std::size_t count, std::size_t hd, std::size_t c0,
                         float* oa, float* ob) {
    constexpr std::size_t W = S::width;
    typename S::vec a0[NG], a1[NG];
    for (int c = 0; c < NG; ++c) {
        a0[c] = S::load(oa + (c0 + std::size_t(c)) * W);
        a1[c] = S::load(ob + (c0 + std::size_t(c)) * W);
    }
    const bool tail = (c0 + NG) * W > hd; // the last vector is partial
    const auto load = [&](const E* p, int c) {
        return tail && c == NG - 1 ? S::load_n(p, hd - (c0 + std::size_t(c)) * W) : S::load(p);
    };
    for (std::size_t j = 0; j < count; ++j) {
        const auto pv0 = S::set1(pa[j]), pv1 = S::set1(pb[j]);
        const E* x = ra + j * stride + c0 * W;
        const E* y = rb + j * stride + c0 * W;
        for (int c = 0; c < NG; ++c) {
            const auto vx = load(x + c * W, c);
            a0[c] = S::fma(pv0, vx, a0[c]);
            if constexpr (Same) {
                a1[c] = S::fma(pv1, vx, a1[c]);
            } else {
                a1[c] = S::fma(pv1, load(y + c * W, c), a1[c]);
            }
        }
    }
    for (int c = 0; c < NG; ++c) {
        S::store(oa + (c0 + std::size_t(c)) * W, a0[c]);
        S::store(ob + (c0 + std::size_t(c)) * W, a1[c]);
    }
}

template <class S, bool Same, class E>
void accumulate_two(const float* pa, const float* pb, const E* ra, const E* rb,
                    std::size_t stride, std::size_t count, std::size_t hd, float* oa, float* ob) {
    constexpr std::size_t W = S::width;
    const std::size_t vecs = (hd + W - 1) / W;
    std::size_t c0 = 0;
    for (; c0 + 4 <= vecs; c0 += 4) {
        accumulate_two_rows<S, 4, Same>(pa, pb, ra, rb, stride, count, hd, c0, oa, ob);
    }
    switch (vecs - c0) {
    case 3: return accumulate_two_rows<S, 3, Same>(pa, pb, ra, rb, stride, count, hd, c0, oa, ob);
    case 2: return accumulate_two_rows<S, 2, Same>(pa, pb, ra, rb, stride, count, hd, c0, oa, ob);
    case 1: return accumulate_two_rows<S, 1, Same>(pa, pb, ra, rb, stride, count, hd, c0, oa, ob);
    default: return;
    }
}

// s (n) = exp(scale * cap(s) - max), in steps of W from s[0].
template <class S> void softmax_exp(float* s, std::size_t n, const attention_options& opt) {
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
}

// s (n) /= sum; with `half` the weights are rounded to IEEE half, as
// llama.cpp's F16 matmul sees them.
template <class S> void softmax_norm(float* s, std::size_t n, float sum, bool half) {
    constexpr std::size_t W = S::width;
    const auto inv = S::set1(1.0f / sum);
    for (std::size_t j = 0; j < n; j += W) {
        const std::size_t m = std::min(W, n - j);
        const auto p = S::mul(S::load_n(s + j, m), inv);
        S::store_n(s + j, half ? S::round_h(p) : p, m);
    }
}

// s (n) = softmax(scale * cap(s)); the sum runs in key order, as before the
// vector kernels.
template <class S>
void softmax_row(float* s, std::size_t n, const attention_options& opt, bool half) {
    softmax_exp<S>(s, n, opt);
    float sum = 0.0f;
    for (std::size_t j = 0; j < n; ++j) {
        sum += s[j];
    }
    softmax_norm<S>(s, n, sum, half);
}

// softmax_row() of N rows, their key-order sums interleaved (N independent
// chains instead of one, the same additions per row).
template <class S, std::size_t N>
void softmax_rows(float* const s[N], const std::size_t n[N], const attention_options& opt,
                  bool half) {
    float sum[N] = {};
    std::size_t common = n[0];
    for (std::size_t i = 0; i < N; ++i) {
        softmax_exp<S>(s[i], n[i], opt);
        common = std::min(common, n[i]);
    }
    for (std::size_t j = 0; j < common; ++j) {
        for (std::size_t i = 0; i < N; ++i) {
            sum[i] += s[i][j];
        }
    }
    for (std::size_t i = 0; i < N; ++i) {
        for (std::size_t j = common; j < n[i]; ++j) {
            sum[i] += s[i][j];
        }
        softmax_norm<S>(s[i], n[i], sum[i], half);
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

// The first key a query sees when its context holds n_ctx tokens: all of
// them, or the last `window` with a sliding window.
inline std::size_t first_visible(const attention_options& opt, std::size_t n_ctx) {
    return opt.window != 0 && n_ctx > opt.window ? n_ctx - opt.window : 0;
}

// A query row (hd) into q (hp, zeros after hd); with an F16 cache rounded
// through IEEE half, as llama.cpp rounds Q for its F16 K matmul.
template <class S> void load_query(const float* src, std::size_t hd, bool half, float* q) {
    constexpr std::size_t W = S::width;
    for (std::size_t c = 0; c < hd; c += W) {
        const std::size_t m = std::min(W, hd - c);
        const auto v = S::load_n(src + c, m);
        S::store_n(q + c, half ? S::round_h(v) : v, m);
    }
}

struct attn_scratch {
    std::vector<float> q, k, v, s, o;
};

// The rows of an item that share converted K/V, key tile by key tile: all
// the rows' scores against one tile of keys while it sits in L1, then each
// row's softmax, then all the rows' outputs against one tile of values. A
// row's arithmetic is the one of the row-at-a-time loop: its scores do not
// depend on how keys are grouped, its softmax sees the same scores, and its
// output runs o += p_j v_j over its keys in order (the partial sum stored
// between tiles is the same float).
template <class S, class E>
void attend_shared(const attn_args& a, const attn_item& it, std::size_t lo, std::size_t hi,
                   attn_scratch& sc) {
    constexpr std::size_t W = S::width;
    constexpr bool half = std::is_same_v<E, std::uint16_t>;
    const kv_layout& l = a.layout;
    const paged_seq& seq = a.seqs[it.seq];
    const std::size_t hd = l.head_dim, hp = (hd + W - 1) / W * W;
    const std::size_t group = a.n_heads / l.n_kv_heads, rows = it.nt * group;
    const std::size_t span = hi - lo;
    const kv_rows<E> keys{&seq, static_cast<const E*>(a.k_arena), &l, it.kv_head};
    const kv_rows<E> values{&seq, static_cast<const E*>(a.v_arena), &l, it.kv_head};
    sc.k.resize(span * hp);
    sc.v.resize(span * hp);
    convert_rows<S>(keys, lo, hi, hp, sc.k.data());
    convert_rows<S>(values, lo, hi, hp, sc.v.data());
    sc.q.assign(rows * hp, 0.0f);
    sc.o.assign(rows * hp, 0.0f);
    sc.s.resize(rows * span);
    // row r: query token t = it.t0 + r / group, head h; it sees keys [first, end)
    const auto token = [&](std::size_t r) { return it.t0 + r / group; };
    const auto head = [&](std::size_t r) { return it.kv_head * group + r % group; };
    const auto end_of = [&](std::size_t r) { return seq.n_past + token(r) + 1; };
    const auto first_of = [&](std::size_t r) { return first_visible(a.opt, end_of(r)); };
    for (std::size_t r = 0; r < rows; ++r) {
        load_query<S>(a.q + ((seq.q_row + token(r)) * a.n_heads + head(r)) * hd, hd, half,
                      sc.q.data() + r * hp);
    }
    // ~16 KiB of F32 keys per tile, a whole number of vectors of keys
    const std::size_t tile = std::max<std::size_t>(W, (4096 / hp) / W * W);
    for (std::size_t j0 = lo; j0 < hi; j0 += tile) {
        const std::size_t j1 = std::min(hi, j0 + tile);
        for (std::size_t r = 0; r < rows; ++r) {
            const std::size_t b = std::max(j0, first_of(r)), e = std::min(j1, end_of(r));
            if (b < e) {
                scores<S>(sc.q.data() + r * hp, hd, sc.k.data() + (b - lo) * hp, hp, e - b,
                          sc.s.data() + r * span + (b - lo));
            }
        }
    }
    const auto row_scores = [&](std::size_t r) {
        return sc.s.data() + r * span + (first_of(r) - lo);
    };
    std::size_t r4 = 0;
    for (; r4 + 4 <= rows; r4 += 4) {
        float* const p[4] = {row_scores(r4), row_scores(r4 + 1), row_scores(r4 + 2),
                             row_scores(r4 + 3)};
        const std::size_t n[4] = {end_of(r4) - first_of(r4), end_of(r4 + 1) - first_of(r4 + 1),
                                  end_of(r4 + 2) - first_of(r4 + 2),
                                  end_of(r4 + 3) - first_of(r4 + 3)};
        softmax_rows<S, 4>(p, n, a.opt, half);
    }
    for (; r4 < rows; ++r4) {
        softmax_row<S>(row_scores(r4), end_of(r4) - first_of(r4), a.opt, half);
    }
    // o_r += p_r[j] v_j over [b, e) of this tile, keys in order
    const auto one = [&](std::size_t r, std::size_t b, std::size_t e) {
        if (b < e) {
            accumulate<S>(sc.s.data() + r * span + (b - lo), sc.v.data() + (b - lo) * hp, hp,
                          e - b, hd, sc.o.data() + r * hp);
        }
    };
    for (std::size_t j0 = lo; j0 < hi; j0 += tile) {
        const std::size_t j1 = std::min(hi, j0 + tile);
        std::size_t r = 0;
        for (; r + 1 < rows; r += 2) { // pairs of rows share the value loads
            const std::size_t b0 = std::max(j0, first_of(r)), e0 = std::min(j1, end_of(r));
            const std::size_t b1 = std::max(j0, first_of(r + 1)), e1 = std::min(j1, end_of(r + 1));
            const std::size_t b = std::max(b0, b1), e = std::min(e0, e1);
            if (b >= e) {
                one(r, b0, e0);
                one(r + 1, b1, e1);
                continue;
            }
            one(r, b0, b); // a row's keys before the common run, then the run, then after
            one(r + 1, b1, b);
            const float* v = sc.v.data() + (b - lo) * hp;
            accumulate_two<S, true>(sc.s.data() + r * span + (b - lo),
                                    sc.s.data() + (r + 1) * span + (b - lo), v, v, hp, e - b, hd,
                                    sc.o.data() + r * hp, sc.o.data() + (r + 1) * hp);
            one(r, e, e0);
            one(r + 1, e, e1);
        }
        for (; r < rows; ++r) {
            one(r, std::max(j0, first_of(r)), std::min(j1, end_of(r)));
        }
    }
    for (std::size_t r = 0; r < rows; ++r) {
        std::copy_n(sc.o.data() + r * hp, hd,
                    a.out + ((seq.q_row + token(r)) * a.n_heads + head(r)) * hd);
    }
}

// Queries t0 .. t0 + nt - 1 of one sequence, the query heads of one KV head.
template <class S, class E>
void attend_item(const attn_args& a, const attn_item& it, attn_scratch& sc) {
    constexpr std::size_t W = S::width;
    constexpr bool half = std::is_same_v<E, std::uint16_t>;
    const kv_layout& l = a.layout;
    const paged_seq& seq = a.seqs[it.seq];
    const std::size_t hd = l.head_dim, hp = (hd + W - 1) / W * W;
    const std::size_t group = a.n_heads / l.n_kv_heads, rows = it.nt * group;
    const std::size_t hi = seq.n_past + it.t0 + it.nt;
    const std::size_t lo = first_visible(a.opt, seq.n_past + it.t0 + 1);
    if (rows > 1) { // convert K/V once for all the rows
        attend_shared<S, E>(a, it, lo, hi, sc);
        return;
    }
    const kv_rows<E> keys{&seq, static_cast<const E*>(a.k_arena), &l, it.kv_head};
    const kv_rows<E> values{&seq, static_cast<const E*>(a.v_arena), &l, it.kv_head};
    sc.q.assign(hp, 0.0f);
    sc.o.resize(hp);
    sc.s.resize(hi - lo + W);
    const std::size_t t = it.t0, h = it.kv_head;
    const std::size_t n_ctx = seq.n_past + t + 1, first = first_visible(a.opt, n_ctx);
    const float* qh = a.q + ((seq.q_row + t) * a.n_heads + h) * hd;
    load_query<S>(qh, hd, half, sc.q.data());
    float* s = sc.s.data();
    keys.runs(first, n_ctx, [&](std::size_t j, const E* row, std::size_t st, std::size_t n) {
        scores<S>(sc.q.data(), hd, row, st, n, s + (j - first));
    });
    softmax_row<S>(s, n_ctx - first, a.opt, half);
    std::fill(sc.o.begin(), sc.o.end(), 0.0f);
    values.runs(first, n_ctx, [&](std::size_t j, const E* row, std::size_t st, std::size_t n) {
        accumulate<S>(s + (j - first), row, st, n, hd, sc.o.data());
    });
    std::copy_n(sc.o.data(), hd, a.out + ((seq.q_row + t) * a.n_heads + h) * hd);
}

// One query token of one sequence against KV heads h and h + 1, one query
// head each (no GQA): a decode step's pair of items, read in place through
// the block table in one pass for both heads (their rows are adjacent in
// every token), each head's arithmetic that of attend_item().
template <class S, class E>
void attend_pair(const attn_args& a, const attn_item& it, attn_scratch& sc) {
    constexpr std::size_t W = S::width;
    constexpr bool half = std::is_same_v<E, std::uint16_t>;
    const kv_layout& l = a.layout;
    const paged_seq& seq = a.seqs[it.seq];
    const std::size_t hd = l.head_dim, hp = (hd + W - 1) / W * W;
    const std::size_t t = it.t0, h = it.kv_head;
    const std::size_t n_ctx = seq.n_past + t + 1, first = first_visible(a.opt, n_ctx);
    const std::size_t n = n_ctx - first;
    const kv_rows<E> keys{&seq, static_cast<const E*>(a.k_arena), &l, h};
    const kv_rows<E> values{&seq, static_cast<const E*>(a.v_arena), &l, h};
    sc.q.assign(2 * hp, 0.0f);
    sc.o.assign(2 * hp, 0.0f);
    sc.s.resize(2 * (n + W));
    const float* qrow = a.q + ((seq.q_row + t) * a.n_heads + h) * hd;
    load_query<S>(qrow, hd, half, sc.q.data());
    load_query<S>(qrow + hd, hd, half, sc.q.data() + hp);
    float* sa = sc.s.data();
    float* sb = sc.s.data() + n + W;
    keys.runs(first, n_ctx, [&](std::size_t j, const E* row, std::size_t st, std::size_t cnt) {
        scores<S>(sc.q.data(), hd, row, st, cnt, sa + (j - first));
        scores<S>(sc.q.data() + hp, hd, row + hd, st, cnt, sb + (j - first));
    });
    float* const p[2] = {sa, sb};
    const std::size_t len[2] = {n, n};
    softmax_rows<S, 2>(p, len, a.opt, half);
    values.runs(first, n_ctx, [&](std::size_t j, const E* row, std::size_t st, std::size_t cnt) {
        accumulate_two<S, false>(sa + (j - first), sb + (j - first), row, row + hd, st, cnt, hd,
                                 sc.o.data(), sc.o.data() + hp);
    });
    float* out = a.out + ((seq.q_row + t) * a.n_heads + h) * hd;
    std::copy_n(sc.o.data(), hd, out);
    std::copy_n(sc.o.data() + hp, hd, out + hd);
}

template <class S>
void attend_items(const attn_args& a, const attn_item* items, std::size_t count) {
    thread_local attn_scratch sc;
    for (std::size_t i = 0; i < count; ++i) {
        if (items[i].pair) {
            if (a.layout.f16) {
                attend_pair<S, std::uint16_t>(a, items[i], sc);
            } else {
                attend_pair<S, float>(a, items[i], sc);
            }
        } else if (a.layout.f16) {
            attend_item<S, std::uint16_t>(a, items[i], sc);
        } else {
            attend_item<S, float>(a, items[i], sc);
        }
    }
}
