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

#include "radixrt/engine.hpp"

namespace {

struct options {
    std::string model;
    std::size_t concurrency = 32, prompt = 32, output = 64, rounds = 3;
    unsigned seed = 1;
};

class waiter : public radixrt::stream_sink {
  public:
    void on_token(const radixrt::token_event&) override {}
    void on_finish(const radixrt::finish_event& e) override { done_.set_value(e.reason); }
    std::future<radixrt::finish_reason> result() { return done_.get_future(); }

  private:
    std::promise<radixrt::finish_reason> done_;
};

} // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--model") {
            o.model = v;
        } else if (k == "--concurrency") {
            o.concurrency = std::stoul(v);
        } else if (k == "--prompt") {
            o.prompt = std::stoul(v);
        } else if (k == "--output") {
            o.output = std::stoul(v);
        } else if (k == "--rounds") {
            o.rounds = std::stoul(v);
        } else if (k == "--seed") {
            o.seed = unsigned(std::stoul(v));
        } else {
            std::fprintf(stderr, "unknown option %s\n", k.c_str());
            return 2;
        }
    }
    radixrt::engine_config cfg;
    cfg.model_path = o.model;
    cfg.max_running = std::max<std::size_t>(cfg.max_running, o.concurrency);
    cfg.kv_cache_bytes = std::size_t(1) << 30;
    radixrt::engine eng(cfg);
    const std::size_t vocab = eng.model().vocab_size;
    std::mt19937 g(o.seed);
    std::printf("concurrency %zu, prompt %zu random tokens, output %zu, model %s\n",
                o.concurrency, o.prompt, o.output, o.model.empty() ? "built-in" : o.model.c_str());
    std::printf("%-6s %7s %10s %12s %12s %12s %12s %9s %9s %9s\n", "round", "steps", "out tok/s",
                "step ms", "forward ms", "sampling ms", "sched us", "forward", "sampling",
                "sched");
    bool ok = true;
    for (std::size_t round = 0; round < o.rounds; ++round) {
        const auto before = eng.stats();
        std::vector<std::future<radixrt::finish_reason>> done;
        std::vector<std::shared_ptr<waiter>> sinks;
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
            sinks.push_back(std::make_shared<waiter>());
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
        // The last step's figures show from the scheduler's next publish on.
        auto after = eng.stats();
        for (int spin = 0; spin < 1000 && after.steps != 0 &&
                           after.scheduler_step_seconds == before.scheduler_step_seconds;
             ++spin) {
            after = eng.stats();
        }
        const double steps = double(after.steps - before.steps);
        const double sched = after.scheduler_step_seconds - before.scheduler_step_seconds;
        const double compute = after.compute_seconds - before.compute_seconds;
        const double forward = after.forward_seconds - before.forward_seconds;
        const double out_tokens = double(after.generated_tokens - before.generated_tokens);
        std::printf("%-6zu %7.0f %10.1f %12.3f %12.3f %12.3f %12.1f %8.2f%% %8.2f%% %8.2f%%\n",
                    round + 1, steps, out_tokens / wall, 1e3 * sched / steps,
                    1e3 * forward / steps, 1e3 * (compute - forward) / steps,
                    1e6 * (sched - compute) / steps, 100 * forward / sched,
                    100 * (compute - forward) / sched, 100 * (sched - compute) / sched);
    }
    return ok ? 0 : 1;
}
