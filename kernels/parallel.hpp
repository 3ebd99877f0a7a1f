#pragma once
// The one place that names oneTBB for loops. Client code calls
// parallel_for(begin, end, grain, fn) with fn(begin, end) over a sub-range.
#include <cstddef>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace radixrt::kernels {

/// Runs fn(b, e) over [begin, end) split into chunks of at least `grain`
/// items. Work no larger than one grain runs inline on the calling thread
/// (the serial escape hatch: a task is only worth it for ~1M cycles).
template <typename Fn>
void parallel_for(std::size_t begin, std::size_t end, std::size_t grain, Fn&& fn) {
    if (end <= begin) {
        return;
    }
    if (grain == 0) {
        grain = 1;
    }
#if defined(RADIXRT_SERIAL_PARALLEL_FOR)
    // ThreadSanitizer builds: the system oneTBB is not instrumented, so TSan
    // cannot see its happens-before edges; run loops serially instead.
    grain = end - begin;
#endif
    if (end - begin <= grain) {
        fn(begin, end);
        return;
    }
    tbb::parallel_for(tbb::blocked_range<std::size_t>(begin, end, grain),
                      [&](const tbb::blocked_range<std::size_t>& r) { fn(r.begin(), r.end()); });
}

} // namespace radixrt::kernels

#include <tbb/global_control.h>

namespace radixrt::kernels {

/// Caps the worker threads of every parallel_for while it lives (the CLI's
/// --threads). The serving engine bounds work per executor instead.
class thread_limit {
  public:
    explicit thread_limit(std::size_t threads)
        : control_(tbb::global_control::max_allowed_parallelism, threads == 0 ? 1 : threads) {}

  private:
    tbb::global_control control_;
};

} // namespace radixrt::kernels
