// Where a serving step's time goes, through the public engine API: C
// requests at once (concurrency C, default 32), each a random prompt of P
// tokens and O generated tokens, so that most steps decode C sequences.
// From the engine's own counters (engine_stats: scheduler_step_seconds,
// compute_seconds, forward_seconds) it prints, per step and as shares of the
// scheduler's iteration: the forward pass (kernels), the executor's scoring
// and sampling, and the scheduler's own overhead (taking messages, planning,
// handing the batch over and back, applying results, delivering events).
// Usage:
//   scheduler_overhead [--model FILE.gguf] [--concurrency 32] [--prompt 32]
//                      [--output 64] [--rounds 3] [--seed 1]
#include <chrono>
#include <cstdio>
#include <future>
#include <random>
#include <string>
#include <thread>

#include "bench/engine_bench.hpp"
#include "radixrt/engine.hpp"

namespace {

struct options {
    std::string model;
    std::size_t concurrency = 32, prompt = 32, output = 64, rounds = 3;
    unsigned seed = 1;
};

} // namespace

int main(int argc, char** argv) {
    options o;
    namespace rb = radixrt::bench;
    if (!rb::parse_flags(
            argc, argv,
            {{"--model", [&](const std::string& v) { o.model = v; }},
             {"--concurrency", rb::size_flag(o.concurrency)},
             {"--prompt", rb::size_flag(o.prompt)},
             {"--output", rb::size_flag(o.output)},
             {"--rounds", rb::size_flag(o.rounds)},
             {"--seed", [&](const std::string& v) { o.seed = unsigned(std::stoul(v)); }}})) {
        return 2;
    }
    radixrt::engine_config cfg;
    cfg.model_path = o.model;
    cfg.max_running = std::max<std::size_t>(cfg.max_running, o.concurrency);
    cfg.kv_cache_bytes = std::size_t(1) << 30;
    radixrt::engine eng(cfg);
    const std::size_t vocab = eng.model().vocab_size;
    std::mt19937 g(o.seed);
    std::printf("concurrency %zu, prompt %zu random tokens, output %zu, model %s\n", o.concurrency,
                o.prompt, o.output, o.model.empty() ? "built-in" : o.model.c_str());
    std::printf("%-6s %7s %10s %12s %12s %12s %12s %9s %9s %9s\n", "round", "steps", "out tok/s",
                "step ms", "forward ms", "sampling ms", "sched us", "forward", "sampling", "sched");
    bool ok = true;
    for (std::size_t round = 0; round < o.rounds; ++round) {
        const auto before = eng.stats();
        std::vector<std::future<radixrt::finish_reason>> done;
        std::vector<std::shared_ptr<radixrt::bench::finish_waiter>> sinks;
        const auto t0 = std::chrono::steady_clock::now();
        for (std::size_t c = 0; c < o.concurrency; ++c) {
            radixrt::request r;
            for (std::size_t t = 0; t < o.prompt; ++t) {
                r.prompt_ids.push_back(std::int32_t(3 + g() % (vocab - 3)));
            }
            r.max_tokens = o.output;
            r.ignore_eos = true;
            r.sampling.temperature = 1.0f; // the usual sampler path, not greedy's shortcut
            r.sampling.seed = g();
            sinks.push_back(std::make_shared<radixrt::bench::finish_waiter>());
            done.push_back(sinks.back()->result());
            if (!eng.submit(r, sinks.back())) {
                std::fprintf(stderr, "submit refused\n");
                return 1;
            }
        }
        for (auto& f : done) {
            ok = f.get() == radixrt::finish_reason::length && ok;
        }
        const double wall =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        // The last step's iteration time shows from the scheduler's next
        // (idle) publish on: wait for it, as the engine test does, until the
        // iteration sum covers every step's own duration.
        auto after = eng.stats();
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (after.scheduler_step_seconds < after.step_seconds.sum) {
            if (std::chrono::steady_clock::now() > deadline) {
                std::fprintf(stderr, "the last step's time was never published\n");
                return 1;
            }
            std::this_thread::yield();
            after = eng.stats();
        }
        const double steps = double(after.steps - before.steps);
        const double sched = after.scheduler_step_seconds - before.scheduler_step_seconds;
        const double compute = after.compute_seconds - before.compute_seconds;
        const double forward = after.forward_seconds - before.forward_seconds;
        const double out_tokens = double(after.generated_tokens - before.generated_tokens);
        std::printf("%-6zu %7.0f %10.1f %12.3f %12.3f %12.3f %12.1f %8.2f%% %8.2f%% %8.2f%%\n",
                    round + 1, steps, out_tokens / wall, 1e3 * sched / steps, 1e3 * forward / steps,
                    1e3 * (compute - forward) / steps, 1e6 * (sched - compute) / steps,
                    100 * forward / sched, 100 * (compute - forward) / sched,
                    100 * (sched - compute) / sched);
    }
    return ok ? 0 : 1;
}
