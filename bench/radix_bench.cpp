// Radix prefix cache costs at serving scale: a tree of ~100k cached blocks
// (block 16) shaped like real traffic, 64 system prompts of 512 tokens, each
// with many 1536-token continuations; 2048-token prompts.
// Run: build/bench/radix_bench
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>
#include <vector>

#include "runtime/radix_tree.hpp"

namespace rr = radixrt::runtime;

namespace {

constexpr std::size_t block = 16, system_len = 512, prompt_len = 2048, systems = 64;
constexpr std::size_t target_blocks = 100'000;

struct corpus {
    std::vector<std::vector<rr::token_id>> systems_;
    std::mt19937 rng{42};

    std::vector<rr::token_id> prompt(std::size_t sys) {
        std::vector<rr::token_id> p = systems_[sys];
        while (p.size() < prompt_len) {
            p.push_back(rr::token_id(rng() % 32000));
        }
        return p;
    }
};

corpus& shared_corpus() {
    static corpus c = [] {
        corpus c;
        for (std::size_t s = 0; s < systems; ++s) {
            std::vector<rr::token_id> t(system_len);
            for (auto& x : t) {
                x = rr::token_id(c.rng() % 32000);
            }
            c.systems_.push_back(std::move(t));
        }
        return c;
    }();
    return c;
}

// Fills a tree to ~100k blocks; returns the prompts it holds.
std::vector<std::vector<rr::token_id>> fill(rr::radix_tree& tree, std::int32_t& next_block) {
    auto& c = shared_corpus();
    std::vector<std::vector<rr::token_id>> held;
    std::vector<rr::block_id> ids(prompt_len / block);
    while (tree.cached_blocks() < target_blocks) {
        auto p = c.prompt(held.size() % systems);
        for (auto& b : ids) {
            b = rr::block_id(next_block++);
        }
        tree.insert("", p, ids);
        held.push_back(std::move(p));
    }
    return held;
}

void BM_match_2048(benchmark::State& state) {
    rr::radix_tree tree(block);
    std::int32_t next = 0;
    const auto held = fill(tree, next);
    std::size_t i = 0, tokens = 0;
    double seconds = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        auto r = tree.match_prefix("", held[i++ % held.size()]);
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        tokens += r.tokens;
        benchmark::DoNotOptimize(r);
    }
    state.counters["cached_blocks"] = double(tree.cached_blocks());
    state.counters["ns_per_matched_token"] = seconds * 1e9 / double(tokens);
}
BENCHMARK(BM_match_2048)->Unit(benchmark::kMicrosecond);

void BM_insert_2048(benchmark::State& state) {
    rr::radix_tree tree(block);
    std::int32_t next = 0;
    fill(tree, next);
    auto& c = shared_corpus();
    std::vector<rr::block_id> ids(prompt_len / block);
    std::size_t tokens = 0;
    double seconds = 0;
    for (auto _ : state) {
        auto p =
            c.prompt(std::size_t(next) % systems); // shares its system prompt, new continuation
        for (auto& b : ids) {
            b = rr::block_id(next++);
        }
        const auto t0 = std::chrono::steady_clock::now();
        tokens += tree.insert("", p, ids).inserted;
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    // per prompt token: the 512 already cached are walked, the 1536 stored
    state.counters["ns_per_prompt_token"] = seconds * 1e9 / double(state.iterations() * prompt_len);
    state.counters["ns_per_inserted_token"] = seconds * 1e9 / double(tokens);
}
BENCHMARK(BM_insert_2048)->Unit(benchmark::kMicrosecond);

void BM_evict_all(benchmark::State& state) {
    std::size_t blocks = 0;
    for (auto _ : state) {
        state.PauseTiming();
        auto tree = std::make_unique<rr::radix_tree>(block);
        std::int32_t next = 0;
        fill(*tree, next);
        state.ResumeTiming();
        blocks += tree->evict(SIZE_MAX).size();
        state.PauseTiming();
        tree.reset();
        state.ResumeTiming();
    }
    state.counters["blocks_per_s"] =
        benchmark::Counter(double(blocks), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_evict_all)->Unit(benchmark::kMillisecond)->Iterations(3);

} // namespace

BENCHMARK_MAIN();
