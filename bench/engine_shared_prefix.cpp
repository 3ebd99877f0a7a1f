// In-process serving benchmark (no HTTP): groups of requests sharing a system
// prompt, run through the engine with the radix cache on and off, same
// requests, same model. Prints requests/s, prompt tokens computed, and the
// ratios. Usage:
//   engine_shared_prefix [--model FILE.gguf] [--groups 8] [--per-group 16]
//                        [--system 512] [--question 32] [--output 32] [--seed 1]
#include <chrono>
#include <cstdio>
#include <future>
#include <random>
#include <string>

#include "bench/engine_bench.hpp"
#include "radixrt/engine.hpp"

namespace {

struct options {
    std::string model;
    std::size_t groups = 8, per_group = 16, system = 512, question = 32, output = 32;
    unsigned seed = 1;
};

struct row {
    double seconds = 0;
    radixrt::engine_stats stats;
    std::size_t completed = 0;
};

row run(const options& o, bool cache) {
    radixrt::engine_config cfg;
    cfg.model_path = o.model;
    cfg.cache_enabled = cache;
    cfg.kv_cache_bytes = std::size_t(1) << 30;
    radixrt::engine eng(cfg);
    const std::size_t vocab = eng.model().vocab_size;
    std::mt19937 g(o.seed);
    auto token = [&] { return std::int32_t(3 + g() % std::min<std::size_t>(vocab - 3, 250)); };
    std::vector<radixrt::request> reqs;
    for (std::size_t gi = 0; gi < o.groups; ++gi) {
        std::vector<std::int32_t> sys(o.system);
        for (auto& t : sys) {
            t = token();
        }
        for (std::size_t k = 0; k < o.per_group; ++k) {
            radixrt::request r;
            r.prompt_ids = sys;
            for (std::size_t q = 0; q < o.question; ++q) {
                r.prompt_ids.push_back(token());
            }
            r.max_tokens = o.output;
            r.ignore_eos = true;
            r.sampling.temperature = 0.0f;
            reqs.push_back(std::move(r));
        }
    }
    std::shuffle(reqs.begin(), reqs.end(), g);
    std::vector<std::future<radixrt::finish_reason>> done;
    std::vector<std::shared_ptr<radixrt::bench::finish_waiter>> sinks;
    const auto t0 = std::chrono::steady_clock::now();
    for (auto& r : reqs) {
        sinks.push_back(std::make_shared<radixrt::bench::finish_waiter>());
        done.push_back(sinks.back()->result());
        if (!eng.submit(r, sinks.back())) {
            std::fprintf(stderr, "submit refused\n");
            std::exit(1);
        }
    }
    row out;
    for (auto& f : done) {
        out.completed += f.get() == radixrt::finish_reason::length;
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.stats = eng.stats();
    return out;
}

} // namespace

int main(int argc, char** argv) {
    options o;
    namespace rb = radixrt::bench;
    if (!rb::parse_flags(
            argc, argv,
            {{"--model", [&](const std::string& v) { o.model = v; }},
             {"--groups", rb::size_flag(o.groups)},
             {"--per-group", rb::size_flag(o.per_group)},
             {"--system", rb::size_flag(o.system)},
             {"--question", rb::size_flag(o.question)},
             {"--output", rb::size_flag(o.output)},
             {"--seed", [&](const std::string& v) { o.seed = unsigned(std::stoul(v)); }}})) {
        return 2;
    }
    const std::size_t n = o.groups * o.per_group;
    std::printf(
        "%zu requests: %zu groups x %zu, system %zu + question %zu tokens, output %zu, model %s\n",
        n, o.groups, o.per_group, o.system, o.question, o.output,
        o.model.empty() ? "built-in" : o.model.c_str());
    std::printf("%-10s %10s %10s %14s %14s %12s %12s %8s %8s\n", "cache", "seconds", "req/s",
                "prompt tokens", "computed", "from cache", "completed", "steps", "steps/s");
    row rows[2];
    for (int c = 1; c >= 0; --c) {
        rows[c] = run(o, c == 1);
        const auto& s = rows[c].stats;
        std::printf("%-10s %10.2f %10.2f %14llu %14llu %12llu %9zu/%zu %8llu %8.1f\n",
                    c ? "on" : "off", rows[c].seconds, double(n) / rows[c].seconds,
                    (unsigned long long)s.prompt_tokens,
                    (unsigned long long)s.computed_prompt_tokens,
                    (unsigned long long)s.cached_prompt_tokens, rows[c].completed, n,
                    (unsigned long long)s.steps, double(s.steps) / rows[c].seconds);
    }
    std::printf("cache on / off: throughput x%.2f, prompt tokens computed %.1f%%\n",
                rows[0].seconds / rows[1].seconds,
                100.0 * double(rows[1].stats.computed_prompt_tokens) /
                    double(rows[0].stats.computed_prompt_tokens));
    return rows[0].completed == n && rows[1].completed == n ? 0 : 1;
}
