#include "runtime/forward.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <functional>
#include <numeric>
#include <random>

#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include "kernels/reference.hpp"
#include "runtime/generate.hpp"
#include "runtime/synthetic.hpp"

namespace rr = radixrt::runtime;
namespace rk = radixrt::kernels;

namespace {

// Naive full recompute: contiguous K/V, no cache, plain loops and the scalar
// reference kernels; returns the logits of every position (n, vocab).
std::vector<float> naive_forward(const rr::model& m, const std::vector<rr::token_id>& toks) {
    const auto& c = m.config();
    const std::size_t n = toks.size(), dim = c.dim;
    std::vector<float> x(n * dim), xb(n * dim), q(n * c.q_dim()), k(n * c.kv_dim()),
        v(n * c.kv_dim()), att(n * c.q_dim()), tmp(n * dim), g(n * c.ffn_dim), u(n * c.ffn_dim);
    auto norm = [&](const std::vector<float>& w, const std::vector<float>& in,
                    std::vector<float>& out) {
        for (std::size_t r = 0; r < n; ++r) {
            double ss = 0;
            for (std::size_t i = 0; i < dim; ++i) {
                ss += double(in[r * dim + i]) * in[r * dim + i];
            }
            const double s = 1.0 / std::sqrt(ss / double(dim) + c.rms_eps);
            for (std::size_t i = 0; i < dim; ++i) {
                out[r * dim + i] = float(in[r * dim + i] * s * w[i]);
            }
        }
    };
    auto rope = [&](float* vec, std::size_t heads, std::size_t pos) { // adjacent pairs
        for (std::size_t h = 0; h < heads; ++h) {
            for (std::size_t i = 0; i < c.rope_dim / 2; ++i) {
                const double th = double(pos) * std::pow(double(c.rope_base),
                                                         -2.0 * double(i) / double(c.rope_dim));
                float* p = vec + h * c.head_dim + 2 * i;
                const double a = p[0], b = p[1];
                p[0] = float(a * std::cos(th) - b * std::sin(th));
                p[1] = float(a * std::sin(th) + b * std::cos(th));
            }
        }
    };
    for (std::size_t r = 0; r < n; ++r) {
        rk::dequantize_row(m.token_embd().type, m.token_embd().row(std::size_t(toks[r])), dim,
                           x.data() + r * dim);
    }
    for (const auto& w : m.layers()) {
        norm(w.attn_norm, x, xb);
        rk::reference::matmul(xb.data(), n, w.wq, q.data());
        rk::reference::matmul(xb.data(), n, w.wk, k.data());
        rk::reference::matmul(xb.data(), n, w.wv, v.data());
        for (std::size_t r = 0; r < n; ++r) {
            rope(q.data() + r * c.q_dim(), c.n_heads, r);
            rope(k.data() + r * c.kv_dim(), c.n_kv_heads, r);
        }
        rk::reference::attention(q.data(), k.data(), v.data(), n, 0, c.n_heads, c.n_kv_heads,
                                 c.head_dim, 1.0f / std::sqrt(float(c.head_dim)), att.data());
        rk::reference::matmul(att.data(), n, w.wo, tmp.data());
        for (std::size_t i = 0; i < x.size(); ++i) {
            x[i] += tmp[i];
        }
        norm(w.ffn_norm, x, xb);
        rk::reference::matmul(xb.data(), n, w.w_gate, g.data());
        rk::reference::matmul(xb.data(), n, w.w_up, u.data());
        for (std::size_t i = 0; i < g.size(); ++i) {
            g[i] = float(g[i] / (1.0 + std::exp(-double(g[i]))) * u[i]);
        }
        rk::reference::matmul(g.data(), n, w.w_down, tmp.data());
        for (std::size_t i = 0; i < x.size(); ++i) {
            x[i] += tmp[i];
        }
    }
    norm(m.output_norm(), x, xb);
    std::vector<float> logits(n * c.vocab_size);
    rk::reference::matmul(xb.data(), n, m.output(), logits.data());
    return logits;
}

std::shared_ptr<const rr::model> tiny(rk::dtype type) {
    auto s = rr::synth_preset("tiny");
    s.type = type;
    s.vocab_size = 300;
    return rr::model::from_gguf(rr::gguf_file::from_bytes(rr::synth_gguf(s).bytes()), "tiny");
}

std::vector<rr::token_id> random_tokens(std::size_t n, unsigned seed) {
    std::mt19937 g(seed);
    std::vector<rr::token_id> t(n);
    for (auto& x : t) {
        x = rr::token_id(g() % 300);
    }
    return t;
}

// rel: quantized weights see their inputs quantized to Q8 per 32 (as
// llama.cpp does), which the float reference does not: allow a fraction of
// the row's largest logit there.
void expect_rows_near(std::span<const float> got, const std::vector<float>& want,
                      std::size_t want_row, std::size_t vocab, const char* what, float rel = 0.0f) {
    float scale = 0;
    for (std::size_t i = 0; i < vocab; ++i) {
        scale = std::max(scale, std::fabs(want[want_row * vocab + i]));
    }
    for (std::size_t i = 0; i < vocab; ++i) {
        ASSERT_NEAR(got[i], want[want_row * vocab + i], 2e-3 + rel * scale)
            << what << " row " << want_row << " logit " << i;
    }
}

// A block table over shuffled block ids, so paging is really exercised.
std::vector<rr::block_id> table_of(std::initializer_list<std::int32_t> ids) {
    std::vector<rr::block_id> out;
    for (auto i : ids) {
        out.push_back(rr::block_id(i));
    }
    return out;
}

std::vector<rr::block_id> shuffled_table(std::size_t blocks, unsigned seed,
                                         std::size_t arena_blocks) {
    std::vector<std::int32_t> ids(arena_blocks);
    std::iota(ids.begin(), ids.end(), 0);
    std::shuffle(ids.begin(), ids.end(), std::mt19937(seed));
    ids.resize(blocks);
    std::vector<rr::block_id> out;
    for (auto i : ids) {
        out.push_back(rr::block_id(i));
    }
    return out;
}

} // namespace

TEST(forward, prefill_chunked_and_decode_match_naive_reference) {
    for (auto type : {rk::dtype::f32, rk::dtype::f16, rk::dtype::q8_0}) {
        auto m = tiny(type);
        const auto vocab = m->config().vocab_size;
        const auto toks = random_tokens(45, 1);
        const auto want = naive_forward(*m, toks);
        rr::forward_pass fwd(m);

        // one-shot prefill, logits for every position
        rr::kv_storage kv(m->config(), 8, 16, rr::kv_type::f32);
        auto table = shuffled_table(3, 1, 8);
        rr::seq_step all{toks, 0, table, true};
        const float rel = rk::is_quantized(type) ? 0.02f : 0.0f;
        auto got_span = fwd.run({&all, 1}, kv);
        const std::vector<float> got(got_span.begin(), got_span.end());
        for (std::size_t r = 0; r < toks.size(); ++r) {
            expect_rows_near(std::span(got).subspan(r * vocab, vocab), want, r, vocab, "one-shot",
                             rel);
        }
        // chunks of 7, then the rest one token at a time (prefix then decode)
        rr::kv_storage kv2(m->config(), 8, 16, rr::kv_type::f32);
        auto table2 = shuffled_table(3, 2, 8);
        std::size_t done = 0;
        while (done < toks.size()) {
            const std::size_t n = done < 28 ? 7 : 1;
            rr::seq_step s{std::span(toks).subspan(done, n), done, table2, false};
            auto out = fwd.run({&s, 1}, kv2);
            done += n;
            expect_rows_near(out, want, done - 1, vocab, "chunked", rel);
            // and bit for bit what the one-shot prefill gave for that position
            for (std::size_t i = 0; i < vocab; ++i) {
                ASSERT_EQ(out[i], got[(done - 1) * vocab + i]) << "chunked == one-shot";
            }
        }
    }
}

TEST(forward, batched_sequences_equal_each_alone) {
    auto m = tiny(rk::dtype::f16);
    const auto vocab = m->config().vocab_size;
    rr::forward_pass fwd(m);
    std::vector<std::vector<rr::token_id>> seqs = {random_tokens(5, 3), random_tokens(33, 4),
                                                   random_tokens(1, 5), random_tokens(17, 6)};
    rr::kv_storage kv(m->config(), 24, 4, rr::kv_type::f32);
    std::vector<std::vector<rr::block_id>> tables;
    auto ids = shuffled_table(24, 9, 24);
    std::size_t next = 0;
    std::vector<rr::seq_step> batch;
    for (const auto& s : seqs) {
        const std::size_t nb = (s.size() + 3) / 4;
        tables.emplace_back(ids.begin() + std::ptrdiff_t(next),
                            ids.begin() + std::ptrdiff_t(next + nb));
        next += nb;
    }
    for (std::size_t i = 0; i < seqs.size(); ++i) {
        batch.push_back({seqs[i], 0, tables[i], false});
    }
    auto got = fwd.run(batch, kv);
    std::vector<float> batched(got.begin(), got.end());
    for (std::size_t i = 0; i < seqs.size(); ++i) {
        const auto want = naive_forward(*m, seqs[i]);
        expect_rows_near(std::span(batched).subspan(i * vocab, vocab), want, seqs[i].size() - 1,
                         vocab, "batched");
    }
}

TEST(forward, rejects_malformed_batches) {
    auto m = tiny(rk::dtype::f32);
    rr::forward_pass fwd(m);
    rr::kv_storage kv(m->config(), 2, 16, rr::kv_type::f32);
    auto table = table_of({0});
    std::vector<rr::token_id> toks(17, 5), bad = {999999};
    rr::seq_step too_long{toks, 0, table, false};
    EXPECT_THROW(fwd.run({&too_long, 1}, kv), std::invalid_argument);
    rr::seq_step bad_tok{bad, 0, table, false};
    EXPECT_THROW(fwd.run({&bad_tok, 1}, kv), std::invalid_argument);
    auto bad_table = table_of({7});
    rr::seq_step bad_block{std::span(toks).first(3), 0, bad_table, false};
    EXPECT_THROW(fwd.run({&bad_block, 1}, kv), std::invalid_argument);
}

TEST(forward, builtin_model_is_deterministic_across_thread_counts) {
    auto m = rr::builtin_model();
    auto m2 = rr::builtin_model();
    rr::forward_pass fwd(m), fwd2(m2);
    auto tok = rr::tokenizer::from_gguf(m->file());
    auto prompt = tok.encode("The same prompt, every time.", true);
    rr::generate_options opt;
    opt.max_tokens = 24;
    opt.ignore_eos = true;
    opt.sampling.temperature = 0.0f;
    std::vector<rr::token_id> one, two;
    {
        tbb::global_control gc(tbb::global_control::max_allowed_parallelism, 1);
        one = rr::generate(fwd, tok, prompt, opt).tokens;
    }
    two = rr::generate(fwd2, tok, prompt, opt).tokens;
    EXPECT_EQ(one.size(), 24u);
    EXPECT_EQ(one, two);
    // A different seed gives a different model.
    rr::forward_pass other(rr::builtin_model(7));
    EXPECT_NE(rr::generate(other, tok, prompt, opt).tokens, one);
}

// The serving engine relies on this: a sequence's logits do not depend on the
// batch it runs in nor on how its prompt was chunked, bit for bit.
TEST(forward, batch_and_chunking_invariant_bit_for_bit) {
    auto m = tiny(rk::dtype::q8_0);
    const auto vocab = m->config().vocab_size;
    rr::forward_pass fwd(m);
    const auto a = random_tokens(40, 11), b = random_tokens(3, 12), c = random_tokens(21, 13);
    auto alone = [&](const std::vector<rr::token_id>& t, std::size_t chunk) {
        rr::kv_storage kv(m->config(), 4, 16, rr::kv_type::f32);
        auto table = table_of({3, 1, 0, 2});
        std::vector<float> last;
        for (std::size_t done = 0; done < t.size(); done += chunk) {
            rr::seq_step s{std::span(t).subspan(done, std::min(chunk, t.size() - done)), done,
                           table, false};
            auto out = fwd.run({&s, 1}, kv);
            last.assign(out.begin(), out.end());
        }
        return last;
    };
    rr::kv_storage kv(m->config(), 12, 16, rr::kv_type::f32);
    auto ta = table_of({0, 1, 2}), tb = table_of({5}), tc = table_of({7, 9});
    std::vector<rr::seq_step> batch = {{a, 0, ta, false}, {b, 0, tb, false}, {c, 0, tc, false}};
    auto out = fwd.run(batch, kv);
    std::vector<float> batched(out.begin(), out.end());
    for (std::size_t chunk : {1u, 7u, 64u}) {
        EXPECT_EQ(alone(a, chunk),
                  std::vector<float>(batched.begin(), batched.begin() + std::ptrdiff_t(vocab)));
        EXPECT_EQ(alone(b, chunk), std::vector<float>(batched.begin() + std::ptrdiff_t(vocab),
                                                      batched.begin() + std::ptrdiff_t(2 * vocab)));
        EXPECT_EQ(alone(c, chunk),
                  std::vector<float>(batched.begin() + std::ptrdiff_t(2 * vocab), batched.end()));
    }
}

// Every architecture keeps the engine's guarantees: a sequence's logits are
// bit-identical alone, batched with others, under any prefill chunking, and
// when its prefix comes from another sequence's cached blocks (the radix
// cache's sharing), also across Gemma 2's 64-token sliding window.
class arch_invariance : public ::testing::TestWithParam<const char*> {};

TEST_P(arch_invariance, batch_chunking_and_shared_prefix_bit_for_bit) {
    auto m = rr::model::load(std::string(RADIXRT_TESTDATA_DIR) + "/models/" + GetParam() + ".gguf");
    const std::size_t vocab = m->config().vocab_size;
    rr::forward_pass fwd(m);
    const auto a = random_tokens(150, 21), b = random_tokens(9, 22);
    for (auto kvt : {rr::kv_type::f16, rr::kv_type::f32}) {
        const auto table_a = shuffled_table(10, 5, 40);
        auto alone = [&](const std::vector<rr::token_id>& t, std::size_t chunk) {
            rr::kv_storage kv(m->config(), 40, 16, kvt);
            std::vector<float> last;
            for (std::size_t done = 0; done < t.size(); done += chunk) {
                rr::seq_step s{std::span(t).subspan(done, std::min(chunk, t.size() - done)), done,
                               table_a, false};
                auto out = fwd.run({&s, 1}, kv);
                last.assign(out.begin(), out.end());
            }
            return last;
        };
        const auto want = alone(a, a.size());
        EXPECT_EQ(alone(a, 1), want) << GetParam();
        EXPECT_EQ(alone(a, 37), want) << GetParam();

        // batched with another sequence
        rr::kv_storage kv(m->config(), 40, 16, kvt);
        const auto table_b = table_of({39});
        std::vector<rr::seq_step> batch = {{b, 0, table_b, false}, {a, 0, table_a, false}};
        auto out = fwd.run(batch, kv);
        EXPECT_EQ(std::vector<float>(out.begin() + std::ptrdiff_t(vocab), out.end()), want)
            << GetParam();

        // a second sequence sharing a's first 128 tokens (8 whole blocks)
        // continues from those blocks and equals computing it from scratch
        auto c = std::vector<rr::token_id>(a.begin(), a.begin() + 128);
        const auto tail = random_tokens(30, 23);
        c.insert(c.end(), tail.begin(), tail.end());
        auto table_c = std::vector<rr::block_id>(table_a.begin(), table_a.begin() + 8);
        table_c.push_back(rr::block_id(37));
        table_c.push_back(rr::block_id(38));
        rr::seq_step s{std::span(c).subspan(128), 128, table_c, false};
        auto shared = fwd.run({&s, 1}, kv);
        std::vector<float> from_cache(shared.begin(), shared.end());
        rr::kv_storage fresh(m->config(), 40, 16, kvt);
        rr::seq_step whole{c, 0, table_c, false};
        auto scratch = fwd.run({&whole, 1}, fresh);
        EXPECT_EQ(from_cache, std::vector<float>(scratch.begin(), scratch.end())) << GetParam();
    }
}

INSTANTIATE_TEST_SUITE_P(models, arch_invariance,
                         ::testing::Values("tiny-qwen2-f16", "tiny-phi3-f16", "tiny-gemma2-f16",
                                           "small-q4_k_m"),
                         [](const auto& info) {
                             std::string n = info.param;
                             for (auto& ch : n) {
                                 ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                             }
                             return n;
                         });

TEST(forward, architecture_errors_name_the_key_or_tensor) {
    const std::string dir = std::string(RADIXRT_TESTDATA_DIR) + "/models/";
    auto expect_error = [](const std::function<void()>& f, const std::string& needle) {
        try {
            f();
            ADD_FAILURE() << "no error, expected one naming " << needle;
        } catch (const rr::gguf_error& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    // The real files load; a file missing a required key or tensor names it.
    auto bytes = [&](const std::string& name) {
        std::ifstream f(dir + name, std::ios::binary);
        return std::vector<char>(std::istreambuf_iterator<char>(f), {});
    };
    for (const char* name : {"tiny-qwen2-f16.gguf", "tiny-phi3-f16.gguf", "tiny-gemma2-f16.gguf"}) {
        EXPECT_NO_THROW(rr::model::from_gguf(rr::gguf_file::from_bytes(bytes(name)), name));
    }
    // Rename a key / a tensor in place (same length), so the file stays valid.
    auto patched = [&](const std::string& name, const std::string& from, const std::string& to) {
        auto b = bytes(name);
        auto it = std::search(b.begin(), b.end(), from.begin(), from.end());
        EXPECT_NE(it, b.end()) << from;
        std::copy(to.begin(), to.end(), it);
        return rr::gguf_file::from_bytes(std::move(b));
    };
    expect_error(
        [&] {
            rr::model::from_gguf(patched("tiny-gemma2-f16.gguf", "gemma2.attention.sliding_window",
                                         "gemma2.attention.sliding_windoX"),
                                 "x");
        },
        "gemma2.attention.sliding_window");
    expect_error(
        [&] {
            rr::model::from_gguf(
                patched("tiny-qwen2-f16.gguf", "blk.1.attn_k.bias", "blk.1.attn_k.biaX"), "x");
        },
        "blk.1.attn_k.bias");
    expect_error(
        [&] {
            rr::model::from_gguf(patched("tiny-phi3-f16.gguf",
                                         "phi3.attention.layer_norm_rms_epsilon",
                                         "phi3.attention.layer_norm_rms_epsiloX"),
                                 "x");
        },
        "phi3.attention.layer_norm_rms_epsilon");
    expect_error(
        [&] {
            rr::model::from_gguf(
                patched("tiny-phi3-f16.gguf", "general.architecture", "general.architecturX"), "x");
        },
        "architecture '' is not supported (supported: llama, qwen2, phi3, gemma2)");
}
