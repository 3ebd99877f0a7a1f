#include "runtime/actor.hpp"

namespace radixrt::runtime {

actor_system::actor_system(std::size_t threads) : guard_(asio::make_work_guard(ioc_)) {
    for (std::size_t i = 0; i < std::max<std::size_t>(1, threads); ++i) {
        threads_.emplace_back([this] { ioc_.run(); });
    }
}

actor_system::~actor_system() {
    stop();
}

void actor_system::stop() {
    guard_.reset();
    for (auto& t : threads_) {
        if (t.joinable()) {
            t.join();
        }
    }
    threads_.clear();
}

void log_handler_error(const std::string& actor, const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "radixrt: %s: handler failed: %s\n", actor.c_str(), ex.what());
    } catch (...) {
        std::fprintf(stderr, "radixrt: %s: handler failed\n", actor.c_str());
    }
}

void tell(actor& target, asio::awaitable<void> op) {
    asio::co_spawn(target.strand(), std::move(op), [name = target.name()](std::exception_ptr e) {
        if (e) {
            log_handler_error(name, e);
        }
    });
}

} // namespace radixrt::runtime
