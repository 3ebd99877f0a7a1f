#include "actors/scheduler_actor.hpp"

#include <map>
#include <random>

#include <boost/asio/redirect_error.hpp>
#include <gtest/gtest.h>

#include "tests/actors/paged_oracle.hpp"

namespace ra = radixrt::actors;
namespace rr = radixrt::runtime;
namespace asio = boost::asio;
using radixrt::test::paged_oracle;
using radixrt::test::random_tokens;
using tokens = std::vector<rr::token_id>;

namespace {

// An executor whose steps finish when the test says so, on the test's own
// io_context: the test decides what happens while a step is in flight.
class scripted_executor : public ra::step_executor {
  public:
    scripted_executor(asio::io_context& ioc, paged_oracle& oracle) : ioc_(ioc), oracle_(oracle) {}
    asio::any_io_executor executor() override { return ioc_.get_executor(); }
    const std::string& name() const override { return name_; }

    asio::awaitable<ra::step_result> run(ra::step_batch batch) override {
        asio::steady_timer gate(ioc_, asio::steady_timer::time_point::max());
        gates_.push_back(&gate);
        boost::system::error_code ec;
        co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        ra::step_result out;
        for (auto& s : batch.seqs) {
            out.seqs.push_back(oracle_.run(s));
        }
        co_return out;
    }

    std::size_t in_flight() const { return gates_.size(); }
    void finish_step() {
        ASSERT_FALSE(gates_.empty());
        auto* g = gates_.front();
        gates_.erase(gates_.begin());
        g->cancel();
    }

  private:
    asio::io_context& ioc_;
    paged_oracle& oracle_;
    std::vector<asio::steady_timer*> gates_;
    std::string name_ = "scripted";
};

struct recorder : radixrt::stream_sink {
    tokens ids;
    int finishes = 0;
    radixrt::finish_event fin;
    void on_token(const radixrt::token_event& e) override {
        EXPECT_EQ(finishes, 0);
        EXPECT_EQ(e.index, ids.size());
        ids.push_back(e.token);
    }
    void on_finish(const radixrt::finish_event& e) override {
        ++finishes;
        fin = e;
    }
};

// One scheduler on a single-threaded io_context that the test drives.
struct rig {
    asio::io_context ioc;
    ra::planner_config cfg;
    paged_oracle oracle;
    scripted_executor exec;
    ra::stats_board stats;
    std::atomic<std::size_t> queued{0};
    ra::scheduler_actor sched;
    std::future<void> done;

    explicit rig(ra::planner_config c)
        : cfg(c), oracle(c.kv_blocks, c.block_size), exec(ioc, oracle),
          sched(ioc, c, radixrt::test::test_vocab(), {&exec}, stats, queued), done(sched.start()) {
        ioc.poll();
    }

    std::shared_ptr<recorder> submit(std::uint64_t id, tokens prompt, std::size_t max_tokens) {
        auto sink = std::make_shared<recorder>();
        ra::submission s;
        s.id = rr::request_id(id);
        s.prompt = std::move(prompt);
        s.params.max_tokens = max_tokens;
        s.params.ignore_eos = true;
        s.params.sampling.temperature = 0.0f;
        s.submitted = ra::clock_type::now();
        ++queued;
        sched.post(ra::submit_msg{std::move(s), sink});
        return sink;
    }

    void settle() {
        ioc.poll();
        ioc.restart();
    }
};

ra::planner_config config(std::size_t blocks) {
    ra::planner_config c;
    c.block_size = 4;
    c.kv_blocks = blocks;
    c.context_length = 2048;
    return c;
}

} // namespace

TEST(scheduler, a_cancel_during_a_step_waits_in_the_inbox) {
    rig r(config(16));
    std::mt19937 g(1);
    auto sink = r.submit(1, random_tokens(g, 6), 50);
    r.settle();
    ASSERT_EQ(r.exec.in_flight(), 1u);
    r.sched.post(ra::cancel_msg{rr::request_id(1)});
    r.settle();
    // The step still owns the request's blocks: nothing was released under it.
    EXPECT_TRUE(r.sched.planner().is_live(rr::request_id(1)));
    EXPECT_EQ(r.sched.planner().blocks().usage().free, 14u);
    EXPECT_EQ(sink->finishes, 0);
    r.exec.finish_step();
    r.settle();
    EXPECT_EQ(sink->finishes, 1);
    EXPECT_EQ(sink->fin.reason, radixrt::finish_reason::cancelled);
    EXPECT_EQ(sink->ids.size(), 1u); // the token of the step in flight
    EXPECT_EQ(r.sched.planner().check_invariants(), "");
    EXPECT_EQ(r.stats.read().running, 0u);
    EXPECT_EQ(r.queued.load(), 0u);
}

TEST(scheduler, the_drain_deadline_ends_queued_and_running_work) {
    auto cfg = config(32);
    cfg.max_running = 1;
    rig r(cfg);
    std::mt19937 g(2);
    auto a = r.submit(1, random_tokens(g, 5), 100);
    auto b = r.submit(2, random_tokens(g, 5), 100);
    r.settle();
    ASSERT_EQ(r.exec.in_flight(), 1u);
    r.sched.post(ra::drain_msg{ra::clock_type::now() - std::chrono::seconds(1)});
    r.exec.finish_step();
    r.settle();
    for (auto* s : {a.get(), b.get()}) {
        EXPECT_EQ(s->finishes, 1);
        EXPECT_EQ(s->fin.reason, radixrt::finish_reason::error);
        EXPECT_EQ(s->fin.error, radixrt::errc::shutting_down);
    }
    ASSERT_EQ(r.done.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    // After the loop, messages are answered at once.
    bool refused = false;
    r.sched.post(ra::snapshot_msg{{0, {}}, [&](radixrt::expected<radixrt::cache_snapshot> s) {
                                      refused =
                                          !s && s.error().code == radixrt::errc::shutting_down;
                                  }});
    r.settle();
    EXPECT_TRUE(refused);
}

TEST(scheduler, a_vanished_sink_cancels_its_request) {
    rig r(config(16));
    std::mt19937 g(3);
    auto keep = r.submit(1, random_tokens(g, 5), 3);
    auto gone = r.submit(2, random_tokens(g, 5), 100);
    gone.reset();
    while (keep->finishes == 0) {
        r.settle();
        if (r.exec.in_flight() > 0) {
            r.exec.finish_step();
        }
    }
    r.settle();
    const auto st = r.stats.read();
    EXPECT_EQ(st.requests_cancelled, 1u);
    EXPECT_EQ(st.running + st.waiting, 0u);
    EXPECT_EQ(r.sched.planner().check_invariants(), "");
}

// Submits, cancels, vanishing clients, snapshots and flushes posted at random
// points, some while a step is in flight, on one thread; the invariants hold
// after every event, every request ends exactly once with the oracle's
// tokens, every snapshot is answered once, and the pool comes back.
TEST(scheduler, random_interleavings_on_one_thread) {
    for (unsigned seed = 1; seed <= 6; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        std::mt19937 g(seed);
        auto cfg = config(20 + g() % 20);
        cfg.max_running = 2 + g() % 5;
        cfg.max_prefill_chunk = 3 + g() % 12;
        rig r(cfg);
        const tokens sys = random_tokens(g, 11);
        std::map<std::uint64_t, std::shared_ptr<recorder>> sinks;
        std::map<std::uint64_t, std::pair<tokens, std::size_t>> asked;
        int snapshots = 0, answered = 0;
        std::uint64_t next = 1;
        for (int event = 0; event < 300; ++event) {
            const unsigned op = g() % 12;
            if (op < 4) {
                tokens p = g() % 2 ? sys : tokens{};
                const auto tail = random_tokens(g, 1 + g() % 7);
                p.insert(p.end(), tail.begin(), tail.end());
                const std::size_t n = 1 + g() % 5;
                asked[next] = {p, n};
                sinks[next] = r.submit(next, p, n);
                ++next;
            } else if (op < 5 && next > 1) {
                r.sched.post(ra::cancel_msg{rr::request_id(1 + g() % (next - 1))});
            } else if (op < 6 && !sinks.empty() && g() % 3 == 0) {
                auto it = std::next(sinks.begin(), std::ptrdiff_t(g() % sinks.size()));
                sinks.erase(it); // the client went away
            } else if (op < 7) {
                ++snapshots;
                r.sched.post(
                    ra::snapshot_msg{{8, {}}, [&](radixrt::expected<radixrt::cache_snapshot> s) {
                                         answered += s.has_value();
                                     }});
            } else if (op < 8) {
                r.sched.post(ra::flush_msg{[](radixrt::expected<std::size_t>) {}});
            } else if (r.exec.in_flight() > 0) {
                r.exec.finish_step();
            }
            r.settle();
            ASSERT_EQ(r.sched.planner().check_invariants(), "") << "event " << event;
        }
        r.sched.post(ra::drain_msg{ra::clock_type::time_point::max()});
        for (int i = 0;
             i < 100000 && r.done.wait_for(std::chrono::seconds(0)) != std::future_status::ready;
             ++i) {
            r.settle();
            if (r.exec.in_flight() > 0) {
                r.exec.finish_step();
            }
        }
        ASSERT_EQ(r.done.wait_for(std::chrono::seconds(0)), std::future_status::ready);
        EXPECT_EQ(answered, snapshots);
        for (const auto& [id, sink] : sinks) {
            ASSERT_EQ(sink->finishes, 1) << "request " << id;
            const auto want = paged_oracle::expected_output(asked[id].first, asked[id].second);
            EXPECT_EQ(sink->ids,
                      tokens(want.begin(), want.begin() + std::ptrdiff_t(sink->ids.size())));
            if (sink->fin.reason != radixrt::finish_reason::cancelled) {
                EXPECT_EQ(sink->ids, want) << "request " << id;
            }
        }
        const auto st = r.stats.read();
        EXPECT_EQ(st.requests_finished + st.requests_cancelled, next - 1);
        EXPECT_EQ(st.kv_blocks_free + st.kv_blocks_cached, st.kv_blocks_total);
        EXPECT_EQ(st.kv_blocks_evictable, st.kv_blocks_cached);
        EXPECT_EQ(r.queued.load(), 0u);
    }
}
