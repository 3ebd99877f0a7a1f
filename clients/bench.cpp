#include "clients/bench.hpp"

#include <atomic>
#include <iomanip>
#include <map>
#include <mutex>
#include <ostream>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

namespace radixrt::clients {

using nlohmann::json;

namespace {

// Cache counters from a radixrt /metrics page (nullopt for other servers).
std::optional<std::pair<double, double>> cache_counters(const target& t) {
    const auto [status, body] = simple_request(t, "GET", "/metrics", "", std::chrono::seconds(2));
    if (status != 200) {
        return std::nullopt;
    }
    // (an init-capture: clang 14 cannot capture a structured binding itself)
    auto value = [&text = body](const std::string& name) -> std::optional<double> {
        const auto at = text.find("\n" + name + " ");
        if (at == std::string::npos) {
            return std::nullopt;
        }
        return std::stod(text.substr(at + name.size() + 2));
    };
    const auto hit = value("radixrt_cache_hit_tokens_total"),
               req = value("radixrt_cache_requested_tokens_total");
    if (!hit || !req) {
        return std::nullopt;
    }
    return std::pair(*hit, *req);
}

// Requests that must run in order (a conversation's turns) form one unit.
std::vector<std::vector<bench_request>> units_of(std::vector<bench_request> reqs) {
    std::vector<std::vector<bench_request>> units;
    std::map<int, std::size_t> conv;
    for (auto& r : reqs) {
        if (r.conversation < 0) {
            units.push_back({std::move(r)});
        } else if (auto it = conv.find(r.conversation); it != conv.end()) {
            units[it->second].push_back(std::move(r));
        } else {
            conv[r.conversation] = units.size();
            units.push_back({std::move(r)});
        }
    }
    return units;
}

} // namespace

bench_report run_requests(const bench_options& o, std::vector<bench_request> reqs,
                          std::ostream& progress_out) {
    // Warm-up: the first requests, sent one by one and not counted.
    const std::size_t warm = std::min(o.warmup, reqs.size());
    for (std::size_t i = 0; i < warm; ++i) {
        execute(o.server, reqs[i],
                clock_type::now() + std::chrono::duration_cast<clock_type::duration>(
                                        std::chrono::duration<double>(o.timeout)));
    }
    reqs.erase(reqs.begin(), reqs.begin() + std::ptrdiff_t(warm));
    const auto units = units_of(std::move(reqs));
    std::size_t total = 0;
    for (const auto& u : units) {
        total += u.size();
    }
    // Arrival times: trace timestamps, else Poisson at the request rate.
    std::vector<double> arrival(units.size(), 0.0);
    std::mt19937_64 rng(o.workload.seed ^ 0x5eedull);
    double t = 0;
    for (std::size_t i = 0; i < units.size(); ++i) {
        if (units[i][0].at >= 0) {
            arrival[i] = units[i][0].at;
        } else if (std::isfinite(o.request_rate) && o.request_rate > 0) {
            t += std::exponential_distribution<double>(o.request_rate)(rng);
            arrival[i] = t;
        }
    }
    const auto before = cache_counters(o.server);
    const auto start = clock_type::now();
    auto at = [&](double s) {
        return start +
               std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(s));
    };
    const auto end = o.duration > 0 ? at(o.duration) : clock_type::time_point::max();

    std::mutex mutex;
    std::vector<request_result> results;
    std::atomic<std::size_t> next{0}, done{0}, failed{0}, sent{0};
    std::atomic<bool> finished{false};
    auto worker = [&] {
        for (std::size_t i; (i = next.fetch_add(1)) < units.size();) {
            std::this_thread::sleep_until(std::min(at(arrival[i]), end));
            for (const auto& r : units[i]) {
                if (clock_type::now() >= end) {
                    return;
                }
                ++sent;
                const auto deadline = std::min(
                    end, clock_type::now() + std::chrono::duration_cast<clock_type::duration>(
                                                 std::chrono::duration<double>(o.timeout)));
                auto res = execute(o.server, r, deadline);
                if (!res.ok && clock_type::now() >= end) {
                    res.error = "cut by --duration";
                }
                failed += res.ok ? 0 : 1;
                ++done;
                std::lock_guard lock(mutex);
                results.push_back(std::move(res));
            }
        }
    };
    const std::size_t n = std::max<std::size_t>(
        1, std::min<std::size_t>(o.max_concurrency == 0 ? 1024 : o.max_concurrency, units.size()));
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < n; ++i) {
        threads.emplace_back(worker);
    }
    std::thread bar([&] {
        while (!finished) {
            if (o.progress) {
                const std::size_t d = done, w = 30;
                const std::size_t fill = total ? d * w / total : w;
                progress_out << "\r[" << std::string(fill, '#') << std::string(w - fill, ' ')
                             << "] " << d << "/" << total << " done, " << failed << " failed"
                             << std::flush;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    });
    for (auto& th : threads) {
        th.join();
    }
    finished = true;
    bar.join();
    if (o.progress) {
        progress_out << "\r[" << std::string(30, '#') << "] " << done << "/" << total << " done, "
                     << failed << " failed\n";
    }
    bench_report rep;
    rep.duration = std::chrono::duration<double>(clock_type::now() - start).count();
    std::vector<double> ttft, itl, tpot, e2e;
    std::size_t prompts_with_usage = 0, input_with_usage = 0;
    for (const auto& r : results) {
        if (!r.ok) {
            if (r.error == "cut by --duration") {
                ++rep.cut;
            } else {
                ++rep.failed;
                if (rep.first_errors.size() < 5) {
                    rep.first_errors.push_back(r.error);
                }
            }
            continue;
        }
        ++rep.completed;
        rep.output_tokens += r.output_tokens;
        rep.input_tokens += r.prompt_tokens;
        if (r.usage_seen) {
            ++prompts_with_usage;
            input_with_usage += r.prompt_tokens;
            rep.cached_tokens += r.cached_tokens;
        }
        ttft.push_back(r.ttft);
        e2e.push_back(r.e2e);
        itl.insert(itl.end(), r.itl.begin(), r.itl.end());
        if (r.output_tokens > 1) {
            tpot.push_back((r.e2e - r.ttft) / double(r.output_tokens - 1));
        }
    }
    rep.sent = sent;
    rep.ttft = summarize(ttft);
    rep.itl = summarize(itl);
    rep.tpot = summarize(tpot);
    rep.e2e = summarize(e2e);
    rep.request_throughput = double(rep.completed) / rep.duration;
    rep.input_throughput = double(rep.input_tokens) / rep.duration;
    rep.output_throughput = double(rep.output_tokens) / rep.duration;
    rep.usage_reported = prompts_with_usage > 0;
    if (input_with_usage > 0) {
        rep.cache_hit_ratio_usage = double(rep.cached_tokens) / double(input_with_usage);
    }
    if (const auto after = cache_counters(o.server);
        before && after && after->second > before->second) {
        rep.cache_hit_ratio_metrics =
            (after->first - before->first) / (after->second - before->second);
    }
    return rep;
}

bench_report run_bench(const bench_options& o, std::ostream& progress_out) {
    auto reqs = make_workload(o.workload);
    if (o.prompt_format == "text") {
        for (auto& r : reqs) {
            if (!r.text.empty()) {
                continue;
            }
            const auto [status, body] =
                simple_request(o.server, "POST", "/detokenize",
                               json{{"tokens", r.prompt_ids}}.dump(), std::chrono::seconds(30));
            const auto j = json::parse(body, nullptr, false);
            if (status != 200 || j.is_discarded() || !j.contains("text")) {
                throw std::runtime_error(
                    "--prompt-format text needs the server's /detokenize (HTTP " +
                    std::to_string(status) + ")");
            }
            r.text = j["text"].get<std::string>();
        }
    } else if (o.prompt_format != "ids") {
        throw std::runtime_error("--prompt-format must be ids or text");
    }
    return run_requests(o, std::move(reqs), progress_out);
}

std::string format_report(const bench_report& r, const bench_options& o) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(2);
    s << "=== radixrt bench: " << o.workload.kind << " -> " << o.server.host << ":" << o.server.port
      << o.server.prefix << " (" << o.server.endpoint << ") ===\n";
    s << "requests:        " << r.sent << " sent, " << r.completed << " completed, " << r.failed
      << " failed";
    if (r.cut) {
        s << ", " << r.cut << " cut by --duration";
    }
    s << "\n";
    for (const auto& e : r.first_errors) {
        s << "  error: " << e << "\n";
    }
    s << "duration:        " << r.duration << " s\n";
    s << "throughput:      " << r.request_throughput << " req/s, " << r.input_throughput
      << " input tok/s, " << r.output_throughput << " output tok/s\n";
    s << "tokens:          " << r.input_tokens << " input (" << r.cached_tokens << " from cache), "
      << r.output_tokens << " output\n";
    s << "cache hit ratio: ";
    if (r.cache_hit_ratio_usage >= 0) {
        s << r.cache_hit_ratio_usage * 100 << "% (usage)";
    } else {
        s << "n/a (usage)";
    }
    if (r.cache_hit_ratio_metrics >= 0) {
        s << ", " << r.cache_hit_ratio_metrics * 100 << "% (/metrics)";
    }
    s << "\n";
    s << std::setw(10) << "ms" << std::setw(10) << "mean" << std::setw(10) << "p50" << std::setw(10)
      << "p90" << std::setw(10) << "p99"
      << "\n";
    auto row = [&](const char* name, const summary& x) {
        s << std::setw(10) << name << std::setw(10) << x.mean * 1e3 << std::setw(10) << x.p50 * 1e3
          << std::setw(10) << x.p90 * 1e3 << std::setw(10) << x.p99 * 1e3 << "\n";
    };
    row("TTFT", r.ttft);
    row("ITL", r.itl);
    row("TPOT", r.tpot);
    row("E2E", r.e2e);
    return s.str();
}

std::string report_json(const bench_report& r, const bench_options& o) {
    auto sj = [](const summary& x) {
        return json{{"mean_ms", x.mean * 1e3},
                    {"p50_ms", x.p50 * 1e3},
                    {"p90_ms", x.p90 * 1e3},
                    {"p99_ms", x.p99 * 1e3},
                    {"count", x.count}};
    };
    const auto& w = o.workload;
    json j = {
        {"base_url",
         "http://" + o.server.host + ":" + std::to_string(o.server.port) + o.server.prefix},
        {"endpoint", o.server.endpoint},
        {"workload",
         {{"kind", w.kind},
          {"groups", w.groups},
          {"prompts_per_group", w.prompts_per_group},
          {"system_len", w.system_len},
          {"question_len", w.question_len},
          {"output_len", w.output_len},
          {"range_ratio", w.range_ratio},
          {"seed", w.seed}}},
        {"request_rate", std::isfinite(o.request_rate) ? json(o.request_rate) : json("inf")},
        {"max_concurrency", o.max_concurrency},
        {"sent", r.sent},
        {"completed", r.completed},
        {"failed", r.failed},
        {"cut", r.cut},
        {"errors", r.first_errors},
        {"duration_s", r.duration},
        {"request_throughput", r.request_throughput},
        {"input_throughput", r.input_throughput},
        {"output_throughput", r.output_throughput},
        {"input_tokens", r.input_tokens},
        {"cached_tokens", r.cached_tokens},
        {"output_tokens", r.output_tokens},
        {"cache_hit_ratio_usage",
         r.cache_hit_ratio_usage >= 0 ? json(r.cache_hit_ratio_usage) : json(nullptr)},
        {"cache_hit_ratio_metrics",
         r.cache_hit_ratio_metrics >= 0 ? json(r.cache_hit_ratio_metrics) : json(nullptr)},
        {"ttft", sj(r.ttft)},
        {"itl", sj(r.itl)},
        {"tpot", sj(r.tpot)},
        {"e2e", sj(r.e2e)},
    };
    return j.dump();
}

} // namespace radixrt::clients
