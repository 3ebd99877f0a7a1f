#include "runtime/radix_tree.hpp"

#include <algorithm>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "runtime/block_allocator.hpp"

namespace rr = radixrt::runtime;
using tokens = std::vector<rr::token_id>;

namespace {

// Sequence of n_blocks blocks of size bs whose block i is filled with v[i].
tokens blocks_of(std::initializer_list<int> v, std::size_t bs) {
    tokens t;
    for (int x : v) {
        t.insert(t.end(), bs, x);
    }
    return t;
}

// Inserts tokens with fresh blocks; releases the duplicates as a caller must.
rr::insert_result put(rr::radix_tree& tree, rr::block_allocator& alloc, std::string_view ns,
                      const tokens& t) {
    auto blocks = alloc.allocate(t.size() / tree.block_size());
    EXPECT_TRUE(blocks);
    auto r = tree.insert(ns, t, *blocks);
    alloc.release(std::span(*blocks).first(r.present / tree.block_size()));
    return r;
}

} // namespace

TEST(radix_tree, split_in_the_middle_of_an_edge) {
    rr::radix_tree tree(4);
    rr::block_allocator alloc(16);
    put(tree, alloc, "", blocks_of({1, 2, 3, 4}, 4));
    auto before = tree.dump();
    auto m = tree.match_prefix("", blocks_of({1, 2, 9}, 4));
    EXPECT_EQ(m.tokens, 8u);
    ASSERT_EQ(m.blocks.size(), 2u);
    EXPECT_EQ(m.blocks[0], before[0].block);
    EXPECT_EQ(m.blocks[1], before[1].block);
    EXPECT_EQ(tree.check_invariants(), "");
    EXPECT_EQ(tree.dump().size(), 4u); // the split changes no cached block
    // Locking the split point protects the first half only.
    ASSERT_TRUE(tree.lock(m.node));
    EXPECT_EQ(tree.protected_tokens(), 8u);
    EXPECT_EQ(tree.evictable_tokens(), 8u);
    EXPECT_EQ(tree.evict(100).size(), 2u);
    EXPECT_EQ(tree.match_prefix("", blocks_of({1, 2, 3, 4}, 4)).tokens, 8u);
    EXPECT_EQ(tree.check_invariants(), "");
}

TEST(radix_tree, insert_of_present_prefix_reports_duplicates) {
    rr::radix_tree tree(4);
    rr::block_allocator alloc(16);
    auto first = put(tree, alloc, "", blocks_of({1, 2}, 4));
    EXPECT_EQ(first.present, 0u);
    EXPECT_EQ(first.inserted, 8u);
    auto second = put(tree, alloc, "", blocks_of({1, 2, 3}, 4));
    EXPECT_EQ(second.present, 8u);
    EXPECT_EQ(second.inserted, 4u);
    EXPECT_EQ(tree.cached_blocks(), 3u);
    EXPECT_EQ(alloc.stats().in_use, 3u); // the two duplicates went back
    auto third = put(tree, alloc, "", blocks_of({1, 2, 3}, 4));
    EXPECT_EQ(third.present, 12u);
    EXPECT_EQ(third.inserted, 0u);
    EXPECT_EQ(alloc.stats().in_use, 3u);
    // A partial tail block is never cached.
    tokens t = blocks_of({1, 2, 3}, 4);
    t.push_back(7);
    auto blocks = alloc.allocate(3);
    EXPECT_EQ(tree.insert("", t, *blocks).present, 12u);
    EXPECT_EQ(tree.check_invariants(), "");
}

TEST(radix_tree, eviction_spares_locked_paths_and_follows_lru) {
    rr::radix_tree tree(2);
    rr::block_allocator alloc(32);
    put(tree, alloc, "", blocks_of({1, 1}, 2));
    put(tree, alloc, "", blocks_of({2, 2}, 2));
    put(tree, alloc, "", blocks_of({3, 3}, 2));
    put(tree, alloc, "", blocks_of({4}, 2));
    // Use 1 again, lock 4: LRU order is now 2, 3, 1 (4 protected).
    tree.match_prefix("", blocks_of({1, 1}, 2));
    ASSERT_TRUE(tree.lock(tree.match_prefix("", blocks_of({4}, 2)).node));
    // Observe through dump(): a look-up would refresh the access time.
    auto gone = [&](int v) {
        const auto d = tree.dump();
        return std::none_of(d.begin(), d.end(),
                            [&](auto& b) { return b.prefix == blocks_of({v}, 2); });
    };
    alloc.release(tree.evict(1));
    EXPECT_TRUE(gone(2));
    EXPECT_FALSE(gone(3));
    alloc.release(tree.evict(2));
    EXPECT_TRUE(gone(3));
    EXPECT_FALSE(gone(1)); // used after 2 and 3 were inserted
    alloc.release(tree.evict(100));
    EXPECT_TRUE(gone(1));
    EXPECT_FALSE(gone(4)); // locked: never evicted
    EXPECT_EQ(tree.cached_blocks(), 1u);
}

TEST(radix_tree, parent_left_childless_becomes_evictable) {
    rr::radix_tree tree(2);
    rr::block_allocator alloc(32);
    put(tree, alloc, "", blocks_of({1, 2}, 2));
    put(tree, alloc, "", blocks_of({1, 3}, 2)); // splits: {1} -> {2}, {3}
    EXPECT_EQ(tree.check_invariants(), "");
    alloc.release(tree.evict(100));
    EXPECT_EQ(tree.cached_blocks(), 0u); // the inner node followed its children
    EXPECT_EQ(alloc.stats().free, 32u);  // every block came back
    EXPECT_EQ(tree.counters().evicted_blocks, 3u);
}

TEST(radix_tree, namespaces_never_cross) {
    rr::radix_tree tree(2);
    rr::block_allocator alloc(8);
    put(tree, alloc, "tenant-a", blocks_of({1, 2}, 2));
    EXPECT_EQ(tree.match_prefix("tenant-b", blocks_of({1, 2}, 2)).tokens, 0u);
    EXPECT_EQ(tree.match_prefix("", blocks_of({1, 2}, 2)).tokens, 0u);
    EXPECT_EQ(tree.match_prefix("tenant-a", blocks_of({1, 2}, 2)).tokens, 4u);
    EXPECT_EQ(put(tree, alloc, "tenant-b", blocks_of({1, 2}, 2)).present, 0u); // stored apart
    EXPECT_EQ(tree.cached_blocks(), 4u);
}

TEST(radix_tree, stale_handles_are_refused) {
    rr::radix_tree tree(2);
    rr::block_allocator alloc(8);
    auto r = put(tree, alloc, "", blocks_of({1}, 2));
    alloc.release(tree.evict(1));
    EXPECT_FALSE(tree.lock(r.node));
    EXPECT_FALSE(tree.unlock(r.node));
    auto s = put(tree, alloc, "", blocks_of({2}, 2));
    EXPECT_FALSE(tree.unlock(s.node)); // not locked
}

TEST(radix_tree, introspection_of_live_requests) {
    rr::radix_tree tree(2);
    rr::block_allocator alloc(32);
    const tokens sys = blocks_of({7, 7, 8}, 2); // 6 shared tokens
    tokens a = sys, b = sys, c = blocks_of({5, 5}, 2);
    a.insert(a.end(), {1, 2, 3});
    b.insert(b.end(), {4, 5});
    tree.register_request(rr::request_id(1), "", a);
    tree.register_request(rr::request_id(2), "", b);
    tree.register_request(rr::request_id(3), "", c);
    tree.register_request(rr::request_id(4), "other", a);
    auto shared = tree.find_shared_prefixes("", a, 2);
    ASSERT_EQ(shared.size(), 2u);
    EXPECT_EQ(shared[0].request, rr::request_id(1));
    EXPECT_EQ(shared[0].tokens, a.size());
    EXPECT_EQ(shared[1].request, rr::request_id(2));
    EXPECT_EQ(shared[1].tokens, 6u);
    auto groups = tree.prefix_groups(4);
    ASSERT_EQ(groups.size(), 1u);
    EXPECT_EQ(groups[0].shared_tokens, 6u);
    EXPECT_EQ(groups[0].requests.size(), 2u);
    auto s = tree.savings();
    EXPECT_EQ(s.live_tokens, a.size() + b.size() + c.size() + a.size());
    EXPECT_EQ(s.live_shared_tokens, 6u);
    // Once the system prompt is cached, the graph shows where requests converge.
    put(tree, alloc, "", a);
    put(tree, alloc, "", b);
    auto g = tree.graph(100);
    ASSERT_EQ(g.convergence.size(), 1u);
    auto conv = std::find_if(g.nodes.begin(), g.nodes.end(),
                             [&](auto& n) { return n.id == g.convergence[0]; });
    EXPECT_EQ(conv->depth_tokens, 6u);
    EXPECT_EQ(conv->live_requests, 2u);
    EXPECT_EQ(tree.graph(1).nodes.size(), 1u);
    EXPECT_TRUE(tree.graph(1).truncated);
    tree.unregister_request(rr::request_id(2));
    EXPECT_TRUE(tree.prefix_groups(4).empty());
}

// ---- property test against a reference model ----

namespace {

struct reference {
    std::map<std::pair<std::string, tokens>, rr::block_id>
        cached; // every cached block-aligned prefix
    struct held {
        std::string ns;
        tokens prefix;
        rr::node_id node;
    };
    std::vector<held> locks;

    std::uint32_t lock_count(const std::string& ns, const tokens& p) const {
        std::uint32_t n = 0;
        for (const auto& h : locks) {
            n += h.ns == ns && h.prefix.size() >= p.size() &&
                 std::equal(p.begin(), p.end(), h.prefix.begin());
        }
        return n;
    }
};

class property : public ::testing::TestWithParam<std::tuple<unsigned, std::size_t>> {};

} // namespace

TEST_P(property, random_operations_agree_with_reference_model) {
    // (not a structured binding: clang 14 cannot capture one in a lambda)
    const unsigned seed = std::get<0>(GetParam());
    const std::size_t bs = std::get<1>(GetParam());
    std::mt19937 rng(seed);
    rr::radix_tree tree(bs);
    rr::block_allocator alloc(96);
    reference ref;
    std::size_t locks_taken = 0;
    const std::vector<std::string> spaces = {"", "b"};
    // Few stems and a tiny alphabet: heavy prefix overlap.
    std::vector<tokens> stems;
    for (int s = 0; s < 4; ++s) {
        tokens t(std::size_t(rng() % 4 + 1) * bs);
        for (auto& x : t) {
            x = rr::token_id(rng() % 2);
        }
        stems.push_back(t);
    }
    auto random_seq = [&] {
        tokens t = stems[rng() % stems.size()];
        const std::size_t extra = rng() % (4 * bs + 3);
        for (std::size_t i = 0; i < extra; ++i) {
            t.push_back(rr::token_id(rng() % 3));
        }
        return t;
    };
    auto ref_match = [&](const std::string& ns, const tokens& t) {
        std::vector<rr::block_id> blocks;
        for (std::size_t l = bs; l <= t.size(); l += bs) {
            auto it = ref.cached.find({ns, tokens(t.begin(), t.begin() + std::ptrdiff_t(l))});
            if (it == ref.cached.end()) {
                break;
            }
            blocks.push_back(it->second);
        }
        return blocks;
    };

    // Evicts through the tree and checks the choice against the model: only
    // cached, unlocked blocks, and at least as many as asked while any remain.
    auto evict = [&](std::size_t want) {
        std::size_t evictable = 0;
        for (const auto& [k, b] : ref.cached) {
            evictable += ref.lock_count(k.first, k.second) == 0;
        }
        const auto freed = tree.evict(want);
        ASSERT_GE(freed.size(), std::min(want, evictable));
        for (auto b : freed) {
            auto it = std::find_if(ref.cached.begin(), ref.cached.end(),
                                   [&](auto& e) { return e.second == b; });
            ASSERT_NE(it, ref.cached.end()) << "evicted an uncached block";
            ASSERT_EQ(ref.lock_count(it->first.first, it->first.second), 0u)
                << "evicted a locked block";
            ref.cached.erase(it);
        }
        alloc.release(freed);
    };

    for (int step = 0; step < 1500; ++step) {
        const std::string& ns = spaces[rng() % spaces.size()];
        const int op = int(rng() % 10);
        SCOPED_TRACE("step " + std::to_string(step) + " op " + std::to_string(op) + " ns '" + ns +
                     "'");
        if (op < 3) { // match, sometimes lock
            const tokens t = random_seq();
            const auto want = ref_match(ns, t);
            ASSERT_EQ(tree.peek_prefix(ns, t), want.size() * bs);
            auto got = tree.match_prefix(ns, t);
            ASSERT_EQ(got.tokens, want.size() * bs) << "step " << step;
            ASSERT_EQ(got.blocks, want);
            if (got.tokens > 0 && rng() % 2 == 0) {
                ASSERT_TRUE(tree.lock(got.node));
                ++locks_taken;
                ref.locks.push_back(
                    {ns, tokens(t.begin(), t.begin() + std::ptrdiff_t(got.tokens)), got.node});
            }
        } else if (op < 6) { // insert
            const tokens t = random_seq();
            const std::size_t nb = t.size() / bs;
            auto blocks = alloc.allocate(nb);
            if (!blocks) {
                evict(nb - alloc.stats().free);
                blocks = alloc.allocate(nb);
            }
            if (!blocks) {
                continue; // everything cached is locked
            }
            const auto present = ref_match(ns, t).size();
            auto r = tree.insert(ns, t, *blocks);
            ASSERT_EQ(r.present, present * bs) << "step " << step;
            ASSERT_EQ(r.inserted, (nb - present) * bs);
            alloc.release(std::span(*blocks).first(present));
            for (std::size_t b = present; b < nb; ++b) {
                ref.cached[{ns, tokens(t.begin(), t.begin() + std::ptrdiff_t((b + 1) * bs))}] =
                    (*blocks)[b];
            }
        } else if (op < 8) { // unlock
            if (!ref.locks.empty()) {
                const std::size_t i = rng() % ref.locks.size();
                ASSERT_TRUE(tree.unlock(ref.locks[i].node));
                ref.locks.erase(ref.locks.begin() + std::ptrdiff_t(i));
            }
        } else {
            evict(rng() % 6 + 1);
        }
        // Full comparison after every step.
        ASSERT_EQ(tree.check_invariants(), "") << "step " << step;
        ASSERT_EQ(alloc.check_invariants(), "");
        const auto dump = tree.dump();
        ASSERT_EQ(dump.size(), ref.cached.size()) << "step " << step;
        std::size_t locked_tokens = 0;
        for (const auto& d : dump) {
            auto it = ref.cached.find({d.ns, d.prefix});
            ASSERT_NE(it, ref.cached.end()) << "step " << step;
            ASSERT_EQ(it->second, d.block);
            ASSERT_EQ(d.locks, ref.lock_count(d.ns, d.prefix));
            ASSERT_EQ(alloc.ref_count(d.block), 1u); // the tree's one reference
            locked_tokens += d.locks > 0 ? bs : 0;
        }
        ASSERT_EQ(tree.protected_tokens(), locked_tokens);
        ASSERT_EQ(tree.evictable_tokens(), dump.size() * bs - locked_tokens);
        ASSERT_EQ(alloc.stats().in_use, dump.size()); // nothing leaked
    }
    // The run exercised what it claims to: hits, locks and evictions.
    EXPECT_GT(tree.counters().matched_tokens, 0u);
    EXPECT_GT(tree.counters().evicted_blocks, 0u);
    EXPECT_GT(locks_taken, 0u);
    // Unlock everything; eviction then empties the tree and the pool.
    for (const auto& h : ref.locks) {
        ASSERT_TRUE(tree.unlock(h.node));
    }
    alloc.release(tree.evict(SIZE_MAX));
    EXPECT_EQ(tree.cached_blocks(), 0u);
    EXPECT_EQ(alloc.stats().free, 96u);
    EXPECT_EQ(tree.check_invariants(), "");
}

INSTANTIATE_TEST_SUITE_P(seeds, property,
                         ::testing::Combine(::testing::Values(1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u),
                                            ::testing::Values(std::size_t(1), std::size_t(2),
                                                              std::size_t(4))));
