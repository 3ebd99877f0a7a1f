#pragma once
// Actor core on Boost.Asio. An actor owns a strand: its handlers are
// coroutine member functions that run only there, so its state needs no
// mutex. Another actor calls one with call(actor.strand(), actor.handler(args))
// and resumes on its own executor with the reply; an exception escaping the
// handler is logged and rethrown to that caller as the error reply, and the
// actor keeps serving. Handlers take their arguments by value (no reference
// can dangle across a suspension).
#include <atomic>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace radixrt::runtime {

namespace asio = boost::asio;

using strand_type = asio::strand<asio::io_context::executor_type>;

/// The io_context the actors run on and its threads (no compute runs here).
class actor_system {
  public:
    explicit actor_system(std::size_t threads = 1);
    ~actor_system();
    actor_system(const actor_system&) = delete;
    actor_system& operator=(const actor_system&) = delete;

    asio::io_context& context() { return ioc_; }
    /// Lets the threads finish queued work, then joins them.
    void stop();

  private:
    asio::io_context ioc_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    std::vector<std::thread> threads_;
};

/// The part every actor shares: its strand and its name (for logs).
class actor {
  public:
    actor(asio::io_context& ioc, std::string name)
        : strand_(asio::make_strand(ioc)), name_(std::move(name)) {}
    virtual ~actor() = default;

    strand_type& strand() { return strand_; }
    const std::string& name() const { return name_; }

  private:
    strand_type strand_;
    std::string name_;
};

/// Logs a handler's exception once, where it escaped.
void log_handler_error(const std::string& actor, const std::exception_ptr& e);

/// Runs the handler coroutine `op` on `target`'s strand and returns its reply
/// (or rethrows its exception) on the caller's executor.
template <typename T> asio::awaitable<T> call(actor& target, asio::awaitable<T> op) {
    try {
        co_return co_await asio::co_spawn(target.strand(), std::move(op), asio::use_awaitable);
    } catch (...) {
        log_handler_error(target.name(), std::current_exception());
        throw;
    }
}

/// Fire and forget: runs `op` on the actor's strand; an exception is logged.
void tell(actor& target, asio::awaitable<void> op);

} // namespace radixrt::runtime
