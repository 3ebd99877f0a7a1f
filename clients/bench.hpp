#pragma once
// The load generator behind `radixrt bench`: sends a workload to a server
// with Poisson (or all-at-once) arrivals and/or a concurrency bound, and
// reports throughput and latency statistics, and the prefix-cache hit ratio.
#include <cmath>
#include <iosfwd>
#include <limits>
#include <string>
#include <vector>

#include "clients/stats.hpp"
#include "clients/transport.hpp"
#include "clients/workload.hpp"

namespace radixrt::clients {

struct bench_options {
    target server;
    workload_options workload;
    double request_rate = std::numeric_limits<double>::infinity(); // requests/s; inf: all at once
    std::size_t max_concurrency = 0;   // 0: as many as requests (at most 1024)
    std::size_t warmup = 0;            // requests sent first and not counted
    double duration = 0;               // seconds; 0: until every request is done
    double timeout = 600;              // seconds per request
    std::string prompt_format = "ids"; // ids | text (decoded by the server's /detokenize)
    bool progress = true;
};

struct bench_report {
    std::size_t sent = 0, completed = 0, failed = 0, cut = 0; // cut: stopped by --duration
    std::vector<std::string> first_errors;
    double duration = 0;
    double request_throughput = 0, input_throughput = 0, output_throughput = 0;
    std::size_t input_tokens = 0, output_tokens = 0, cached_tokens = 0;
    bool usage_reported = false;
    double cache_hit_ratio_usage = -1;   // cached / input tokens, from usage (-1: not reported)
    double cache_hit_ratio_metrics = -1; // from the server's /metrics before and after (-1: n/a)
    summary ttft, itl, tpot, e2e;        // seconds
};

/// Builds the workload, runs it, and returns the report. Progress goes to
/// `progress_out` (a bar redrawn in place). Throws std::runtime_error for an
/// unusable setup (bad workload, the server unreachable for text prompts).
bench_report run_bench(const bench_options& o, std::ostream& progress_out);
/// Runs prepared requests (the part tests drive directly).
bench_report run_requests(const bench_options& o, std::vector<bench_request> reqs,
                          std::ostream& progress_out);

std::string format_report(const bench_report& r, const bench_options& o);
/// One JSON object (one line): the options and every figure of the report.
std::string report_json(const bench_report& r, const bench_options& o);

} // namespace radixrt::clients
