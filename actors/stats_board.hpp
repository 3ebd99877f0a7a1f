#pragma once
// The engine's published statistics: the scheduler writes a fresh copy after
// every step; anyone may read a copy. (A snapshot, not actor state.)
#include <mutex>

#include "radixrt/engine.hpp"

namespace radixrt::actors {

class stats_board {
  public:
    engine_stats read() const {
        std::lock_guard lock(mutex_);
        return stats_;
    }
    template <typename Fn> void update(Fn&& fn) {
        std::lock_guard lock(mutex_);
        fn(stats_);
    }

  private:
    mutable std::mutex mutex_;
    engine_stats stats_;
};

} // namespace radixrt::actors
