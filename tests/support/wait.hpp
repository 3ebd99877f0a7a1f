#pragma once
// Waiting in tests: on a condition, with a deadline, never a fixed sleep.
#include <chrono>
#include <thread>

namespace radixrt::test {

/// Polls pred (every millisecond) until it holds (true) or limit passes (false).
template <typename Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

} // namespace radixrt::test
