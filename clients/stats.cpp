#include "clients/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace radixrt::clients {

double percentile(std::vector<double> v, double q) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    const double rank = std::clamp(q, 0.0, 100.0) / 100.0 * double(v.size() - 1);
    const auto lo = std::size_t(std::floor(rank));
    const auto hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (rank - double(lo));
}

summary summarize(const std::vector<double>& v) {
    summary s;
    s.count = v.size();
    if (v.empty()) {
        return s;
    }
    s.mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
    s.p50 = percentile(v, 50);
    s.p90 = percentile(v, 90);
    s.p99 = percentile(v, 99);
    s.min = *std::min_element(v.begin(), v.end());
    s.max = *std::max_element(v.begin(), v.end());
    return s;
}

} // namespace radixrt::clients
