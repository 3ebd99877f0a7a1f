#pragma once
// Summary statistics of a benchmark run.
#include <string>
#include <vector>

namespace radixrt::clients {

struct summary {
    std::size_t count = 0;
    double mean = 0, p50 = 0, p90 = 0, p99 = 0, min = 0, max = 0;
};

/// Percentile q in [0, 100] of values by linear interpolation between
/// closest ranks (numpy's default): rank = q/100 * (n - 1).
double percentile(std::vector<double> values, double q);
summary summarize(const std::vector<double>& values);

} // namespace radixrt::clients
