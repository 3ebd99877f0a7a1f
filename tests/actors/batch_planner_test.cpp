#include "actors/batch_planner.hpp"

#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "tests/actors/paged_oracle.hpp"

namespace ra = radixrt::actors;
namespace rr = radixrt::runtime;
using radixrt::test::paged_oracle;
using radixrt::test::random_tokens;
using tokens = std::vector<rr::token_id>;
using clock_type = ra::clock_type;

namespace {

ra::submission greedy(std::uint64_t id, tokens prompt, std::size_t max_tokens, int priority = 0) {
    ra::submission s;
    s.id = rr::request_id(id);
    s.prompt = std::move(prompt);
    s.params.max_tokens = max_tokens;
    s.params.ignore_eos = true;
    s.params.sampling.temperature = 0.0f;
    s.params.priority = priority;
    return s;
}

// A planner, the oracle standing in for the model, and what came out.
struct harness {
    ra::planner_config cfg;
    ra::batch_planner planner;
    paged_oracle oracle;
    clock_type::time_point now = clock_type::time_point{} + std::chrono::seconds(1);
    std::map<std::uint64_t, tokens> out;   // tokens per request, in index order
    std::map<std::uint64_t, int> finishes; // finish events per request
    std::map<std::uint64_t, radixrt::finish_event> fin;

    explicit harness(ra::planner_config c)
        : cfg(c), planner(c, radixrt::test::test_vocab()), oracle(c.kv_blocks, c.block_size) {}

    std::vector<ra::step_sequence> plan() { return planner.plan_step(now); }

    void complete(std::vector<ra::step_sequence>& p) {
        planner.complete_step(oracle.run(p), now);
        collect();
    }

    // One whole step.
    std::size_t step() {
        auto p = plan();
        collect();
        if (!p.empty()) {
            complete(p);
        }
        return p.size();
    }

    void collect() {
        for (auto& ev : planner.take_events()) {
            if (auto* t = std::get_if<ra::token_out>(&ev)) {
                auto& o = out[rr::to_int(t->id)];
                EXPECT_EQ(t->event.index, o.size()) << "token order of " << rr::to_int(t->id);
                EXPECT_EQ(finishes[rr::to_int(t->id)], 0) << "token after finish";
                o.push_back(t->event.token);
            } else {
                auto& f = std::get<ra::finish_out>(ev);
                ++finishes[rr::to_int(f.id)];
                fin[rr::to_int(f.id)] = f.event;
            }
        }
    }

    void expect_invariants(const std::string& where) {
        EXPECT_EQ(planner.check_invariants(), "") << where;
    }
};

ra::planner_config config(std::size_t blocks, std::size_t block_size = 4) {
    ra::planner_config c;
    c.block_size = block_size;
    c.kv_blocks = blocks;
    c.context_length = 2048;
    return c;
}

std::vector<std::uint64_t> ids_of(const std::vector<ra::step_sequence>& plan) {
    std::vector<std::uint64_t> ids;
    for (const auto& s : plan) {
        ids.push_back(rr::to_int(s.id));
    }
    return ids;
}

} // namespace

TEST(batch_planner, two_requests_sharing_a_prefix_in_one_step_compute_it_once) {
    harness h(config(64));
    std::mt19937 g(1);
    const tokens sys = random_tokens(g, 8); // two blocks
    tokens a = sys, b = sys;
    a.push_back(100);
    a.push_back(101);
    b.push_back(102);
    h.planner.submit(greedy(1, a, 3));
    h.planner.submit(greedy(2, b, 3));
    // Step 1: only the first computes; the second waits for the shared blocks.
    auto p1 = h.plan();
    ASSERT_EQ(ids_of(p1), (std::vector<std::uint64_t>{1}));
    EXPECT_EQ(p1[0].tokens, a);
    EXPECT_EQ(p1[0].n_past, 0u);
    ASSERT_TRUE(p1[0].sampler);
    const std::vector<rr::block_id> a_blocks(p1[0].block_table.begin(),
                                             p1[0].block_table.begin() + 2);
    h.complete(p1);
    h.expect_invariants("after step 1");
    // Step 2: the first decodes one token; the second computes only its suffix
    // on top of the first's two cached blocks.
    auto p2 = h.plan();
    ASSERT_EQ(ids_of(p2), (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(p2[0].tokens.size(), 1u);
    EXPECT_EQ(p2[1].n_past, 8u);
    EXPECT_EQ(p2[1].tokens, tokens{102});
    EXPECT_EQ(std::vector<rr::block_id>(p2[1].block_table.begin(), p2[1].block_table.begin() + 2),
              a_blocks);
    h.complete(p2);
    while (h.step() > 0) {
        h.expect_invariants("decoding");
    }
    EXPECT_EQ(h.out[1], paged_oracle::expected_output(a, 3));
    EXPECT_EQ(h.out[2], paged_oracle::expected_output(b, 3));
    EXPECT_EQ(h.fin[2].usage.cached_tokens, 8u);
    const auto& c = h.planner.counters();
    EXPECT_EQ(c.computed_prompt_tokens, a.size() + 1); // the prefix once, then b's own token
    EXPECT_EQ(c.cached_prompt_tokens, 8u);
    EXPECT_EQ(h.planner.blocks().usage().free + h.planner.matcher().cached_blocks(), 64u);
}

// Three running requests of one block each in a pool of four: when all of
// them need a second block, the youngest is preempted so the others go on,
// and it later recomputes to exactly the same output.
TEST(batch_planner, kv_exhaustion_mid_decode_preempts_the_youngest) {
    auto cfg = config(4);
    cfg.cache_enabled = false;
    harness h(cfg);
    std::mt19937 g(2);
    std::vector<tokens> prompts = {random_tokens(g, 3), random_tokens(g, 3), random_tokens(g, 3)};
    for (std::uint64_t i = 0; i < 3; ++i) {
        h.planner.submit(greedy(i + 1, prompts[i], 4));
    }
    EXPECT_EQ(h.step(), 3u); // prefill: 3 blocks, 1 free
    EXPECT_EQ(h.step(), 3u); // first decode: position 3 still in the first block
    EXPECT_EQ(h.planner.counters().preemptions, 0u);
    auto p = h.plan(); // position 4 needs a second block each: only one is free
    EXPECT_EQ(ids_of(p), (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(h.planner.counters().preemptions, 1u);
    EXPECT_EQ(h.planner.waiting(), 1u); // request 3, back in the queue holding nothing
    h.expect_invariants("after preemption");
    h.complete(p);
    while (h.step() > 0) {
    }
    for (std::uint64_t i = 0; i < 3; ++i) {
        EXPECT_EQ(h.out[i + 1], paged_oracle::expected_output(prompts[i], 4)) << i + 1;
        EXPECT_EQ(h.finishes[i + 1], 1);
    }
    EXPECT_EQ(h.planner.blocks().usage().free, 4u);
}

TEST(batch_planner, priority_orders_admission_and_shields_from_preemption) {
    auto cfg = config(4);
    cfg.cache_enabled = false;
    cfg.max_running = 1;
    harness h(cfg);
    std::mt19937 g(3);
    h.planner.submit(greedy(1, random_tokens(g, 3), 2, 0));
    h.planner.submit(greedy(2, random_tokens(g, 3), 2, 5));
    h.planner.submit(greedy(3, random_tokens(g, 3), 2, 5));
    // The higher priority first, fcfs within it.
    EXPECT_EQ(ids_of(h.plan()), (std::vector<std::uint64_t>{2}));
    auto cfg2 = config(4);
    cfg2.cache_enabled = false;
    harness k(cfg2);
    std::vector<tokens> prompts = {random_tokens(g, 3), random_tokens(g, 3), random_tokens(g, 3)};
    k.planner.submit(greedy(1, prompts[0], 4, 0));
    k.planner.submit(greedy(2, prompts[1], 4, 0));
    k.planner.submit(greedy(3, prompts[2], 4, 1)); // youngest, but the highest priority
    k.step();
    k.step();
    auto p = k.plan();
    // Request 3 is planned first and keeps its blocks; request 2 (low priority,
    // newest of those) is preempted for request 1.
    EXPECT_EQ(ids_of(p), (std::vector<std::uint64_t>{3, 1}));
    EXPECT_EQ(k.planner.counters().preemptions, 1u);
    k.complete(p);
    while (k.step() > 0) {
    }
    for (std::uint64_t i = 0; i < 3; ++i) {
        EXPECT_EQ(k.out[i + 1], paged_oracle::expected_output(prompts[i], 4));
    }
}

TEST(batch_planner, inputs_while_a_step_is_in_flight_are_refused) {
    harness h(config(16));
    std::mt19937 g(4);
    h.planner.submit(greedy(1, random_tokens(g, 5), 4));
    auto p = h.plan();
    ASSERT_TRUE(h.planner.in_step());
    // The scheduler keeps these in its inbox until the step is done.
    EXPECT_THROW(h.planner.cancel(rr::request_id(1), h.now), std::logic_error);
    EXPECT_THROW(h.planner.submit(greedy(2, random_tokens(g, 5), 4)), std::logic_error);
    EXPECT_THROW(h.planner.plan_step(h.now), std::logic_error);
    h.complete(p);
    h.planner.cancel(rr::request_id(1), h.now);
    h.collect();
    EXPECT_EQ(h.out[1].size(), 1u); // the token of the step in flight came out
    EXPECT_EQ(h.fin[1].reason, radixrt::finish_reason::cancelled);
    EXPECT_EQ(h.finishes[1], 1);
    h.expect_invariants("after cancel");
    EXPECT_EQ(h.planner.blocks().usage().free + h.planner.matcher().cached_blocks(), 16u);
}

TEST(batch_planner, the_drain_deadline_ends_everything_left) {
    auto cfg = config(32);
    cfg.max_running = 1;
    harness h(cfg);
    std::mt19937 g(5);
    h.planner.submit(greedy(1, random_tokens(g, 5), 100));
    h.planner.submit(greedy(2, random_tokens(g, 5), 100)); // stays queued
    h.planner.drain(h.now + std::chrono::milliseconds(10));
    EXPECT_EQ(h.step(), 1u); // before the deadline: work goes on
    EXPECT_FALSE(h.planner.finished());
    h.now += std::chrono::milliseconds(20);
    EXPECT_TRUE(h.plan().empty());
    h.collect();
    for (std::uint64_t id : {1, 2}) {
        EXPECT_EQ(h.finishes[id], 1);
        EXPECT_EQ(h.fin[id].reason, radixrt::finish_reason::error);
        EXPECT_EQ(h.fin[id].error, radixrt::errc::shutting_down);
    }
    EXPECT_TRUE(h.planner.finished());
    h.expect_invariants("drained");
}

TEST(batch_planner, a_failed_sequence_ends_with_an_error_and_frees_its_blocks) {
    harness h(config(16));
    std::mt19937 g(6);
    h.planner.submit(greedy(1, random_tokens(g, 9), 4));
    h.planner.submit(greedy(2, random_tokens(g, 9), 4));
    auto p = h.plan();
    auto results = h.oracle.run(p);
    results[0].failure = radixrt::error{radixrt::errc::internal, "boom"};
    h.planner.complete_step(std::move(results), h.now);
    h.collect();
    EXPECT_EQ(h.fin[1].reason, radixrt::finish_reason::error);
    EXPECT_EQ(h.fin[1].message, "boom");
    EXPECT_EQ(h.finishes[2], 0);
    h.expect_invariants("after a failure");
    while (h.step() > 0) {
    }
    EXPECT_EQ(h.fin[2].reason, radixrt::finish_reason::length);
    // The failed request's KV was not cached (it may be garbage); request 2
    // cached its 12 computed tokens (9 of prompt, 3 generated): 3 blocks.
    EXPECT_EQ(h.planner.matcher().cached_blocks(), 3u);
}

// Random submits (sharing prefixes, several namespaces and priorities),
// cancels, flushes and steps on a tight pool, with the invariants checked
// after every event; every request ends exactly once with the oracle's
// tokens (or a prefix of them when cancelled), and the pool comes back.
TEST(batch_planner, random_interleavings_keep_every_invariant) {
    for (unsigned seed = 1; seed <= 12; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        std::mt19937 g(seed);
        auto cfg = config(24 + g() % 24, 2 + g() % 4);
        cfg.max_running = 2 + g() % 6;
        cfg.max_batch_tokens = 8 + g() % 64;
        cfg.max_prefill_chunk = 3 + g() % 20;
        cfg.policy = g() % 2 ? ra::admission_policy::lpm : ra::admission_policy::fcfs;
        cfg.cache_enabled = g() % 4 != 0;
        harness h(cfg);
        std::vector<tokens> systems = {random_tokens(g, 13), random_tokens(g, 7)};
        std::map<std::uint64_t, tokens> prompts;
        std::map<std::uint64_t, std::size_t> max_tokens;
        std::uint64_t next = 1;
        for (int event = 0; event < 400; ++event) {
            const unsigned op = g() % 10;
            if (op < 4) {
                tokens p = g() % 3 ? systems[g() % 2] : tokens{};
                const auto tail = random_tokens(g, 1 + g() % 9);
                p.insert(p.end(), tail.begin(), tail.end());
                auto s = greedy(next, p, 1 + g() % 6, int(g() % 3));
                s.params.cache_namespace = g() % 5 == 0 ? "other" : "";
                prompts[next] = p;
                max_tokens[next] = s.params.max_tokens;
                h.planner.submit(std::move(s));
                ++next;
            } else if (op < 5 && next > 1) {
                h.planner.cancel(rr::request_id(1 + g() % (next - 1)), h.now);
                h.collect();
            } else if (op < 6 && g() % 4 == 0) {
                h.planner.flush_cache();
            } else {
                h.step();
            }
            h.now += std::chrono::milliseconds(1);
            ASSERT_EQ(h.planner.check_invariants(), "") << "event " << event;
        }
        h.planner.drain(clock_type::time_point::max());
        for (int i = 0; i < 10000 && !h.planner.finished(); ++i) {
            h.step();
            ASSERT_EQ(h.planner.check_invariants(), "");
        }
        ASSERT_TRUE(h.planner.finished());
        for (const auto& [id, p] : prompts) {
            ASSERT_EQ(h.finishes[id], 1) << "request " << id;
            const auto want = paged_oracle::expected_output(p, max_tokens[id]);
            const auto& got = h.out[id];
            if (h.fin[id].reason == radixrt::finish_reason::cancelled) {
                EXPECT_EQ(got, tokens(want.begin(), want.begin() + std::ptrdiff_t(got.size())));
            } else {
                EXPECT_EQ(h.fin[id].reason, radixrt::finish_reason::length);
                EXPECT_EQ(got, want) << "request " << id;
            }
        }
        const auto pool = h.planner.blocks().usage();
        EXPECT_EQ(pool.free + h.planner.matcher().cached_blocks(), pool.total);
        EXPECT_EQ(h.planner.matcher().evictable_blocks(), h.planner.matcher().cached_blocks());
    }
}
