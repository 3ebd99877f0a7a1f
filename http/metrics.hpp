#pragma once
// Prometheus text exposition of the gateway's own measurements (what
// clients see: TTFT, inter-token latency, end-to-end latency, queue time,
// requests by endpoint and outcome) and of the engine's statistics.
#include <map>
#include <mutex>
#include <string>

#include "radixrt/engine.hpp"

namespace radixrt::http {

class metrics {
  public:
    void request(const std::string& endpoint, const std::string& outcome);
    void ttft(double seconds);
    void inter_token(double seconds);
    void finished(const finish_event& e);
    /// A request whose client went away before it ended: its time so far.
    void abandoned(double seconds);

    std::string render(const engine_stats& s, bool ready) const;

  private:
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, std::string>, std::uint64_t> requests_;
    histogram_snapshot ttft_{
        {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}, {}, 0, 0};
    histogram_snapshot itl_{{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}, {}, 0, 0};
    histogram_snapshot e2e_{{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}, {}, 0, 0};
    histogram_snapshot queue_{{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30}, {}, 0, 0};
};

} // namespace radixrt::http
