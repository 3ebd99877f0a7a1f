// Thousands of submits and cancels from several threads against a real
// engine with a tiny KV pool and short outputs (run under ASan and TSan in
// CI): every accepted request ends exactly once, and the pool comes back.
// A third of the requests are constrained (grammar compile and trie build
// race between the submitting threads); some of those lazily (a trigger),
// and a fifth of all score their prompt (computed whole, scores before the
// first token, never after the finish).
#include "radixrt/engine.hpp"

#include <atomic>
#include <filesystem>
#include <mutex>
#include <random>
#include <span>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/synthetic.hpp"
#include "tests/support/wait.hpp"

namespace rr = radixrt::runtime;
using namespace std::chrono_literals;
using radixrt::test::wait_until;

namespace {

// Counts the events of every request of the test.
struct tally {
    std::atomic<int> finishes{0}, double_finishes{0}, tokens_after_finish{0};
};

class counting_sink : public radixrt::stream_sink {
  public:
    explicit counting_sink(tally& t) : t_(t) {}
    void on_token(const radixrt::token_event&) override {
        if (done_.load()) {
            ++t_.tokens_after_finish;
        }
        tokens_.store(true);
    }
    void on_prompt(std::span<const radixrt::prompt_token_logprob>) override {
        if (done_.load() || tokens_.load() || prompted_.exchange(true)) {
            ++t_.tokens_after_finish; // scores come once, before any token
        }
    }
    void on_finish(const radixrt::finish_event&) override {
        if (done_.exchange(true)) {
            ++t_.double_finishes;
        }
        ++t_.finishes;
    }
    bool done() const { return done_.load(); }

  private:
    tally& t_;
    std::atomic<bool> done_{false}, tokens_{false}, prompted_{false};
};

std::string tiny_model() {
    const auto path = std::filesystem::temp_directory_path() /
                      ("radixrt-stress-" + std::to_string(::getpid()) + ".gguf");
    auto spec = rr::synth_preset("tiny");
    spec.seed = 7;
    rr::synth_gguf(spec).write(path.string());
    return path.string();
}

} // namespace

TEST(engine_stress, submit_and_cancel_storm_from_several_threads) {
    const auto model = tiny_model();
    radixrt::engine_config cfg;
    cfg.model_path = model;
    cfg.threads_per_worker = 1;
    cfg.block_size = 4;
    // 48 blocks of 4 tokens; a token of the tiny model is 2 layers x (K, V) x
    // 32 dims x 4 bytes: 16 running requests need up to 64 blocks, so they preempt.
    cfg.kv_cache_bytes = 48 * 4 * (2 * 2 * 32 * 4);
    cfg.max_running = 16;
    cfg.max_queued_requests = 256; // small enough that some submits are refused
    radixrt::engine eng(cfg);
    std::filesystem::remove(model);

    constexpr int threads = 4, per_thread = 600;
    tally t;
    std::atomic<int> accepted{0}, refused{0}, dropped{0};
    std::mutex keep_mutex;
    std::vector<std::shared_ptr<counting_sink>> kept;
    std::vector<std::thread> workers;
    for (int w = 0; w < threads; ++w) {
        workers.emplace_back([&, w] {
            std::mt19937 g(unsigned(w) + 1);
            std::vector<radixrt::request_handle> handles;
            for (int i = 0; i < per_thread; ++i) {
                radixrt::request r;
                for (std::size_t k = 0, n = 1 + g() % 12; k < n; ++k) {
                    r.prompt_ids.push_back(std::int32_t(3 + g() % 200));
                }
                r.max_tokens = 1 + g() % 3;
                r.ignore_eos = true;
                r.sampling.seed = g();
                r.priority = int(g() % 3);
                if (i % 3 == 0) { // constrained: the compiler and trie from several threads
                    r.constraint =
                        i % 2 == 0
                            ? radixrt::output_constraint{radixrt::constraint_kind::json_object}
                            : radixrt::output_constraint{radixrt::constraint_kind::regex,
                                                         "[a-z]+( [a-z]+)*"};
                    if (i % 9 == 0) {
                        r.constraint.triggers = {{"{", false}};
                    }
                }
                r.prompt_logprobs = i % 5 == 0;
                r.top_logprobs = r.prompt_logprobs ? 2 : 0;
                auto sink = std::make_shared<counting_sink>(t);
                auto h = eng.submit(r, sink);
                while (!h) { // a full queue: wait for it to drain a little, then retry
                    ASSERT_EQ(h.error().code, radixrt::errc::overloaded) << h.error().message;
                    ++refused;
                    ASSERT_TRUE(wait_until([&] { return eng.stats().waiting < 128; }, 60s));
                    h = eng.submit(r, sink);
                }
                ++accepted;
                handles.push_back(*h);
                if (g() % 4 == 0) {
                    handles[g() % handles.size()].cancel();
                }
                if (g() % 8 == 0) {
                    ++dropped; // the client goes away: the engine cancels it
                } else {
                    std::lock_guard lock(keep_mutex);
                    kept.push_back(std::move(sink));
                }
            }
        });
    }
    for (auto& w : workers) {
        w.join();
    }
    ASSERT_TRUE(wait_until(
        [&] {
            for (const auto& s : kept) {
                if (!s->done()) {
                    return false;
                }
            }
            return true;
        },
        300s));
    EXPECT_EQ(accepted.load(), threads * per_thread);
    EXPECT_EQ(t.double_finishes.load(), 0);
    EXPECT_EQ(t.tokens_after_finish.load(), 0);
    EXPECT_GE(t.finishes.load(), int(kept.size()));
    // Every accepted request ended (the dropped ones as cancelled, unseen).
    ASSERT_TRUE(wait_until(
        [&] {
            const auto s = eng.stats();
            return s.requests_finished + s.requests_cancelled + s.requests_failed ==
                   std::uint64_t(accepted.load());
        },
        60s));
    const auto s = eng.stats();
    EXPECT_EQ(s.requests_failed, 0u);
    EXPECT_EQ(s.requests_rejected, std::uint64_t(refused.load()));
    EXPECT_EQ(s.running + s.waiting, 0u);
    EXPECT_EQ(s.kv_blocks_free + s.kv_blocks_cached, s.kv_blocks_total);
    EXPECT_EQ(s.kv_blocks_evictable, s.kv_blocks_cached);
    eng.shutdown();
}
