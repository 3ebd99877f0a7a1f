#pragma once
// Caps on how many engine requests one client may have queued or running at
// once: per connection (a WebSocket carries many) and per tenant, so that no
// single client fills the engine's shared queue. Thread-safe.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace radixrt::http {

class quota {
  public:
    explicit quota(std::size_t limit) : limit_(limit) {}
    /// Takes n units, all or none (a limit of 0: no cap).
    bool try_acquire(std::size_t n) {
        std::size_t used = used_.load();
        do {
            if (limit_ != 0 && used + n > limit_) {
                return false;
            }
        } while (!used_.compare_exchange_weak(used, used + n));
        return true;
    }
    void release(std::size_t n) { used_.fetch_sub(n); }
    std::size_t limit() const { return limit_; }

  private:
    const std::size_t limit_;
    std::atomic<std::size_t> used_{0};
};

/// One quota per tenant, made on first use.
class tenant_quotas {
  public:
    explicit tenant_quotas(std::size_t limit) : limit_(limit) {}
    std::shared_ptr<quota> of(const std::string& tenant) {
        std::lock_guard lock(mutex_);
        auto& q = quotas_[tenant];
        if (!q) {
            q = std::make_shared<quota>(limit_);
        }
        return q;
    }

  private:
    std::size_t limit_;
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<quota>> quotas_;
};

} // namespace radixrt::http
