#pragma once
// The scheduler actor: continuous batching as one loop on its strand, in the
// shape of SGLang's scheduler. Each iteration
//   1. takes the whole inbox (submit, cancel, drain, snapshot, flush) and
//      applies it to the batch planner,
//   2. has the planner admit requests and plan a step,
//   3. runs the step on the executors (the loop's only suspension),
//   4. gives the results to the planner,
// publishing statistics and delivering token and finish events to the
// requests' sinks between steps. Messages arriving while the loop is
// suspended only append to the inbox, so nothing the loop iterates changes
// under it; every decision is the planner's, synchronous and unit-tested.
#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "actors/batch_planner.hpp"
#include "actors/scheduler_messages.hpp"
#include "actors/stats_board.hpp"
#include "actors/step_executor.hpp"

namespace radixrt::actors {

class scheduler_actor : public runtime::actor {
  public:
    /// queued: the engine's count of requests waiting for their first step
    /// (it bounds the queue); the scheduler decrements it as they leave.
    scheduler_actor(runtime::asio::io_context& ioc, planner_config cfg,
                    const runtime::tokenizer& tok, std::vector<step_executor*> executors,
                    stats_board& stats, std::atomic<std::size_t>& queued);
    ~scheduler_actor() override;

    /// Starts the loop; the future completes when it has ended (after a
    /// drain_msg, once nothing is left).
    std::future<void> start();
    /// From any thread: appends m to the inbox. After the loop has ended,
    /// a message is answered at once with errc::shutting_down.
    void post(scheduler_message m);

    /// The planner, for tests that drive the loop on one thread; call only
    /// from the strand (or while the io_context is not running).
    const batch_planner& planner() const { return planner_; }

  private:
    runtime::asio::awaitable<void> loop();
    void on_message(scheduler_message m);
    void take_inbox(clock_type::time_point now);
    void cancel_vanished(clock_type::time_point now);
    void deliver();
    runtime::asio::awaitable<std::vector<sequence_result>>
    run_step(std::vector<step_sequence> plan);
    void publish();
    void refuse(scheduler_message& m);

    batch_planner planner_;
    std::vector<step_executor*> executors_;
    stats_board& stats_;
    std::atomic<std::size_t>& queued_;
    runtime::asio::steady_timer wake_;
    std::vector<scheduler_message> inbox_;
    std::map<runtime::request_id, std::weak_ptr<stream_sink>> sinks_;
    clock_type::time_point deadline_ = clock_type::time_point::max();
    bool closed_ = false;
    std::uint64_t left_queue_seen_ = 0;
    double last_step_ms_ = 0;
    double scheduler_step_seconds_ = 0, compute_seconds_ = 0, forward_seconds_ = 0;
    double step_compute_ = 0, step_forward_ = 0; // of the step in flight
    std::size_t last_batch_tokens_ = 0;
    histogram_snapshot step_seconds_ = engine_stats{}.step_seconds;
    histogram_snapshot batch_tokens_ = engine_stats{}.batch_tokens;
};

} // namespace radixrt::actors
