#include "radixrt/engine.hpp"

#include <future>
#include <mutex>
#include <random>

#include <gtest/gtest.h>

#include "runtime/generate.hpp"
#include "runtime/synthetic.hpp"

namespace rr = radixrt::runtime;
using tokens = std::vector<std::int32_t>;

namespace {

// Records one stream; counts finish events (must be exactly one).
class recorder : public radixrt::stream_sink {
  public:
    void on_token(const radixrt::token_event& e) override {
        std::lock_guard lock(mutex_);
        ids_.push_back(e.token);
        text_ += e.text;
        indices_ok_ = indices_ok_ && e.index == ids_.size() - 1;
    }
    void on_finish(const radixrt::finish_event& e) override {
        std::lock_guard lock(mutex_);
        if (++finishes_ == 1) {
            finish_ = e;
            text_ += e.text_tail;
            done_.set_value();
        }
    }
    bool wait(std::chrono::seconds s = std::chrono::seconds(60)) {
        return fut_.wait_for(s) == std::future_status::ready;
    }
    tokens ids() {
        std::lock_guard lock(mutex_);
        return ids_;
    }
    std::string text() {
        std::lock_guard lock(mutex_);
        return text_;
    }
    int finishes() {
        std::lock_guard lock(mutex_);
        return finishes_;
    }
    radixrt::finish_event finish() {
        std::lock_guard lock(mutex_);
        return finish_;
    }
    bool indices_ok() {
        std::lock_guard lock(mutex_);
        return indices_ok_;
    }

  private:
    std::mutex mutex_;
    tokens ids_;
    std::string text_;
    int finishes_ = 0;
    bool indices_ok_ = true;
    radixrt::finish_event finish_;
    std::promise<void> done_;
    std::future<void> fut_ = done_.get_future();
};

// The bare model, one request at a time: the independent expectation.
tokens alone(const tokens& prompt, std::size_t max_tokens,
             radixrt::sampling_options s = {.temperature = 0.0f}) {
    static auto model = rr::builtin_model();
    static auto tok = rr::tokenizer::from_gguf(model->file());
    rr::forward_pass fwd(model);
    rr::generate_options opt;
    opt.max_tokens = max_tokens;
    opt.ignore_eos = true;
    opt.sampling = {s.temperature,
                    s.top_k,
                    s.top_p,
                    s.min_p,
                    s.repetition_penalty,
                    s.presence_penalty,
                    s.frequency_penalty,
                    s.logit_bias,
                    s.seed};
    return rr::generate(fwd, tok, prompt, opt).tokens;
}

// Prompts sharing a 64-token prefix (4 blocks) with distinct suffixes.
std::vector<tokens> shared_prompts(std::size_t n, unsigned seed, std::size_t prefix = 64) {
    std::mt19937 g(seed);
    tokens sys(prefix);
    for (auto& t : sys) {
        t = std::int32_t(3 + g() % 250);
    }
    std::vector<tokens> out;
    for (std::size_t i = 0; i < n; ++i) {
        tokens p = sys;
        for (std::size_t k = 0, len = 5 + g() % 40; k < len; ++k) {
            p.push_back(std::int32_t(3 + g() % 250));
        }
        out.push_back(p);
    }
    return out;
}

radixrt::request greedy(const tokens& prompt, std::size_t max_tokens) {
    radixrt::request r;
    r.prompt_ids = prompt;
    r.max_tokens = max_tokens;
    r.ignore_eos = true;
    r.sampling.temperature = 0.0f;
    return r;
}

struct run_result {
    std::vector<tokens> outputs;
    radixrt::engine_stats stats;
};

// Submits every prompt at once and waits for all of them.
run_result run_all(radixrt::engine& eng, const std::vector<radixrt::request>& reqs) {
    std::vector<std::shared_ptr<recorder>> sinks;
    for (const auto& r : reqs) {
        sinks.push_back(std::make_shared<recorder>());
        EXPECT_TRUE(eng.submit(r, sinks.back()).has_value());
    }
    run_result out;
    for (auto& s : sinks) {
        EXPECT_TRUE(s->wait());
        EXPECT_EQ(s->finishes(), 1);
        EXPECT_TRUE(s->indices_ok());
        out.outputs.push_back(s->ids());
    }
    out.stats = eng.stats();
    return out;
}

// After everything finished: no block is held by a request; every block is
// free or cached, and every cached block is evictable (nothing locked).
void expect_baseline(const radixrt::engine_stats& s) {
    EXPECT_EQ(s.kv_blocks_free + s.kv_blocks_cached, s.kv_blocks_total);
    EXPECT_EQ(s.kv_blocks_evictable, s.kv_blocks_cached);
    EXPECT_EQ(s.running, 0u);
    EXPECT_EQ(s.waiting, 0u);
}

} // namespace

struct engine_case {
    const char* name;
    std::size_t workers, chunk, kv_bytes;
    bool cache;
};

void PrintTo(const engine_case& c, std::ostream* os) {
    *os << c.name;
}

class equivalence : public ::testing::TestWithParam<engine_case> {};

TEST_P(equivalence, concurrent_requests_match_the_bare_model) {
    const auto c = GetParam();
    radixrt::engine_config cfg;
    cfg.workers = c.workers;
    cfg.threads_per_worker = c.workers == 1 ? 2 : 1;
    cfg.max_prefill_chunk = c.chunk;
    cfg.kv_cache_bytes = c.kv_bytes;
    cfg.cache_enabled = c.cache;
    radixrt::engine eng(cfg);
    const auto prompts = shared_prompts(8, 7);
    std::vector<radixrt::request> reqs;
    for (const auto& p : prompts) {
        reqs.push_back(greedy(p, 24));
    }
    const auto got = run_all(eng, reqs);
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        EXPECT_EQ(got.outputs[i], alone(prompts[i], 24)) << c.name << " request " << i;
    }
    expect_baseline(got.stats);
    EXPECT_EQ(got.stats.requests_finished, prompts.size());
    if (std::string(c.name) == "tiny_pool") {
        EXPECT_GT(got.stats.preemptions, 0u); // the pool really ran out
    }
}

// KV bytes per block of the built-in model: 4 layers x 2 (K,V) x 4 kv heads x 32 dims x 4 bytes x
// 16 tokens.
constexpr std::size_t block_bytes = 4 * 2 * 4 * 32 * 4 * 16;

INSTANTIATE_TEST_SUITE_P(engine, equivalence,
                         ::testing::Values(engine_case{"default", 1, 512, 64u << 20, true},
                                           engine_case{"chunked", 1, 7, 64u << 20, true},
                                           engine_case{"no_cache", 1, 512, 64u << 20, false},
                                           engine_case{"two_workers", 2, 512, 64u << 20, true},
                                           engine_case{"tiny_pool", 1, 512, 14 * block_bytes, true},
                                           engine_case{"tiny_pool_chunked", 2, 16, 14 * block_bytes,
                                                       true}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(engine, shared_prefix_is_computed_once) {
    radixrt::engine_config cfg;
    radixrt::engine eng(cfg);
    const auto prompts = shared_prompts(8, 11, 128);
    std::vector<radixrt::request> reqs;
    std::size_t suffixes = 0;
    for (const auto& p : prompts) {
        reqs.push_back(greedy(p, 4));
        suffixes += p.size() - 128;
    }
    const auto got = run_all(eng, reqs);
    // The 128 shared tokens are computed once; each other request computes its
    // suffix plus at most the partial block where the prefix ends.
    EXPECT_LE(got.stats.computed_prompt_tokens, 128 + suffixes + 8 * 16);
    EXPECT_GE(got.stats.cached_prompt_tokens, 7u * 128);
    EXPECT_EQ(got.stats.prompt_tokens,
              got.stats.cached_prompt_tokens + got.stats.computed_prompt_tokens);
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        EXPECT_EQ(got.outputs[i], alone(prompts[i], 4));
    }
}

TEST(engine, seeded_sampling_is_the_same_alone_and_batched) {
    radixrt::engine eng(radixrt::engine_config{});
    const auto prompts = shared_prompts(6, 5);
    std::vector<radixrt::request> reqs;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        auto r = greedy(prompts[i], 16);
        r.sampling = {.temperature = 0.9f, .top_k = 40, .top_p = 0.95f, .seed = 100 + i};
        reqs.push_back(r);
    }
    const auto got = run_all(eng, reqs);
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        EXPECT_EQ(got.outputs[i], alone(prompts[i], 16, reqs[i].sampling));
    }
}

TEST(engine, random_cancellations_lose_nothing) {
    radixrt::engine_config cfg;
    cfg.kv_cache_bytes = 40 * block_bytes; // tight, so preemption mixes in
    radixrt::engine eng(cfg);
    std::mt19937 g(3);
    const auto prompts = shared_prompts(24, 9);
    std::vector<std::shared_ptr<recorder>> sinks;
    std::vector<radixrt::request_handle> handles;
    for (const auto& p : prompts) {
        sinks.push_back(std::make_shared<recorder>());
        auto h = eng.submit(greedy(p, 20 + g() % 20), sinks.back());
        ASSERT_TRUE(h);
        handles.push_back(*h);
        if (g() % 3 == 0) {
            handles[g() % handles.size()].cancel();
        }
    }
    for (int i = 0; i < 6; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(g() % 5));
        handles[g() % handles.size()].cancel();
        handles[g() % handles.size()].cancel(); // twice is harmless
    }
    std::size_t cancelled = 0;
    for (auto& s : sinks) {
        ASSERT_TRUE(s->wait());
        EXPECT_EQ(s->finishes(), 1);
        cancelled += s->finish().reason == radixrt::finish_reason::cancelled;
    }
    EXPECT_GT(cancelled, 0u);
    // Give the scheduler its last publish, then check the pool.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto st = eng.stats();
    expect_baseline(st);
    EXPECT_EQ(st.requests_finished + st.requests_cancelled, prompts.size());
}

TEST(engine, vanished_client_cancels_its_request) {
    radixrt::engine eng(radixrt::engine_config{});
    auto sink = std::make_shared<recorder>();
    auto keep = std::make_shared<recorder>();
    ASSERT_TRUE(eng.submit(greedy(shared_prompts(1, 1)[0], 2000 - 100), sink));
    ASSERT_TRUE(eng.submit(greedy(shared_prompts(1, 2)[0], 8), keep));
    sink.reset(); // the client went away
    ASSERT_TRUE(keep->wait());
    for (int i = 0; i < 100 && eng.stats().running + eng.stats().waiting > 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const auto st = eng.stats();
    EXPECT_EQ(st.requests_cancelled, 1u);
    expect_baseline(st);
}

TEST(engine, overload_is_refused_immediately) {
    radixrt::engine_config cfg;
    cfg.max_queued_requests = 3;
    cfg.max_running = 1;
    radixrt::engine eng(cfg);
    std::vector<std::shared_ptr<recorder>> accepted;
    int rejected = 0;
    for (int i = 0; i < 12; ++i) {
        auto sink = std::make_shared<recorder>();
        auto h = eng.submit(greedy(shared_prompts(1, unsigned(i))[0], 64), sink);
        if (h) {
            accepted.push_back(sink);
        } else {
            EXPECT_EQ(h.error(), radixrt::errc::overloaded);
            ++rejected;
        }
    }
    // At most the queue bound plus the one running request can be in at once.
    EXPECT_LE(accepted.size(), 3u + 1u);
    EXPECT_GT(rejected, 0);
    for (auto& s : accepted) {
        ASSERT_TRUE(s->wait());
        EXPECT_EQ(s->finishes(), 1);
    }
    EXPECT_EQ(eng.stats().requests_rejected, std::uint64_t(rejected));
}

TEST(engine, bad_requests_fail_at_submit) {
    radixrt::engine eng(radixrt::engine_config{});
    auto sink = std::make_shared<recorder>();
    auto err = [&](radixrt::request r) { return eng.submit(r, sink).error(); };
    EXPECT_EQ(err({.prompt = "", .add_bos = false}),
              radixrt::errc::invalid_request); // no tokens at all
    EXPECT_EQ(err({.prompt_ids = {1, 99999}}), radixrt::errc::invalid_request);
    EXPECT_EQ(err({.prompt = "x", .max_tokens = 0}), radixrt::errc::invalid_request);
    EXPECT_EQ(err({.prompt = "x", .sampling = {.temperature = -1.0f}}),
              radixrt::errc::invalid_request);
    EXPECT_EQ(err({.prompt = "x", .max_tokens = 1u << 20}), radixrt::errc::context_exceeded);
    EXPECT_EQ(eng.submit({.prompt = "x"}, nullptr).error(), radixrt::errc::invalid_request);
    EXPECT_EQ(sink->finishes(), 0); // nothing was accepted
}

TEST(engine, stop_conditions) {
    radixrt::engine eng(radixrt::engine_config{});
    const auto prompt = shared_prompts(1, 4)[0];
    const auto ref = alone(prompt, 12);
    // max_tokens
    auto g = eng.generate(greedy(prompt, 12));
    ASSERT_TRUE(g);
    EXPECT_EQ(g->tokens, ref);
    EXPECT_EQ(g->finish.reason, radixrt::finish_reason::length);
    // a stop token id: generation ends before it, it is not emitted
    auto r = greedy(prompt, 12);
    r.stop_ids = {ref[5]};
    g = eng.generate(r);
    const auto first = std::size_t(std::find(ref.begin(), ref.end(), ref[5]) - ref.begin());
    EXPECT_EQ(g->tokens, tokens(ref.begin(), ref.begin() + std::ptrdiff_t(first)));
    EXPECT_EQ(g->finish.reason, radixrt::finish_reason::stop);
    // EOS forced by a logit bias ends it at once, unless ignore_eos
    r = greedy(prompt, 12);
    r.ignore_eos = false;
    r.sampling.logit_bias = {{2, 1000.0f}};
    g = eng.generate(r);
    EXPECT_TRUE(g->tokens.empty());
    EXPECT_EQ(g->finish.reason, radixrt::finish_reason::stop);
    // a stop string: the text ends right before it
    const std::string full = eng.generate(greedy(prompt, 12))->text;
    ASSERT_GE(full.size(), 6u);
    r = greedy(prompt, 12);
    r.stop = {full.substr(3, 3)};
    g = eng.generate(r);
    EXPECT_EQ(g->text, full.substr(0, full.find(full.substr(3, 3))));
    EXPECT_EQ(g->finish.reason, radixrt::finish_reason::stop);
}

TEST(engine, shutdown_drains_or_ends_with_an_error) {
    radixrt::engine eng(radixrt::engine_config{});
    auto quick = std::make_shared<recorder>();
    auto slow = std::make_shared<recorder>();
    ASSERT_TRUE(eng.submit(greedy(shared_prompts(1, 1)[0], 4), quick));
    ASSERT_TRUE(eng.submit(greedy(shared_prompts(1, 2)[0], 1900), slow));
    ASSERT_TRUE(quick->wait());
    eng.shutdown(std::chrono::milliseconds(20));
    EXPECT_EQ(quick->finish().reason, radixrt::finish_reason::length);
    ASSERT_TRUE(slow->wait());
    EXPECT_EQ(slow->finishes(), 1);
    EXPECT_EQ(slow->finish().reason, radixrt::finish_reason::error);
    EXPECT_EQ(slow->finish().error, radixrt::errc::shutting_down);
    EXPECT_EQ(eng.submit(greedy({1, 2, 3}, 2), quick).error(), radixrt::errc::shutting_down);
    eng.shutdown(); // idempotent
}
