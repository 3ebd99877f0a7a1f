#include "http/session_registry.hpp"

#include <vector>

namespace radixrt::http {

bool session_registry::add(const std::shared_ptr<connection>& c) {
    std::lock_guard lock(mutex_);
    if (sessions_.size() >= max_) {
        return false;
    }
    sessions_[c.get()] = c;
    return true;
}

void session_registry::replace(const connection* old, const std::shared_ptr<connection>& c) {
    std::lock_guard lock(mutex_);
    sessions_.erase(old);
    sessions_[c.get()] = c;
}

void session_registry::remove(const connection* c) {
    std::lock_guard lock(mutex_);
    sessions_.erase(c);
}

void session_registry::close_all() {
    std::vector<std::shared_ptr<connection>> all;
    {
        std::lock_guard lock(mutex_);
        for (auto& [k, w] : sessions_) {
            if (auto s = w.lock()) {
                all.push_back(s);
            }
        }
    }
    for (auto& s : all) {
        s->close();
    }
}

std::size_t session_registry::size() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

} // namespace radixrt::http
