#pragma once
// Live connections, HTTP and WebSocket alike: the connection limit counts
// them all, and shutdown closes them all.
#include <map>
#include <memory>
#include <mutex>

namespace radixrt::http {

/// What the registry needs of a session.
class connection {
  public:
    virtual ~connection() = default;
    /// Closes the connection (from any thread); its requests are cancelled.
    virtual void close() = 0;
};

class session_registry {
  public:
    explicit session_registry(std::size_t max) : max_(max) {}
    /// A new connection, unless the limit is reached.
    bool add(const std::shared_ptr<connection>& c);
    /// A connection taking over another's slot (an HTTP upgrade to WebSocket).
    void replace(const connection* old, const std::shared_ptr<connection>& c);
    void remove(const connection* c);
    void close_all();
    std::size_t size() const;

  private:
    mutable std::mutex mutex_;
    std::size_t max_;
    std::map<const connection*, std::weak_ptr<connection>> sessions_;
};

} // namespace radixrt::http
