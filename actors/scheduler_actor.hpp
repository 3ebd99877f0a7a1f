#pragma once
// The scheduler owns the waiting queue and the running set and forms one
// batch per step (continuous batching): a token budget per step, chunked
// prefill, fcfs or lpm admission with in-batch prefix sharing, preemption
// by recomputation when KV blocks run out, stop conditions, cancellation.
// Its step loop is one coroutine on its strand; submit/cancel/drain only
// record what they are told and wake the loop, which acts between steps.
#include <atomic>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "actors/attention_executor.hpp"
#include "actors/kv_block_manager_actor.hpp"
#include "actors/prefix_matcher_actor.hpp"
#include "actors/scheduler_messages.hpp"
#include "actors/stats_board.hpp"
#include "runtime/stop_checker.hpp"

namespace radixrt::actors {

struct scheduler_config {
    std::size_t block_size = 16;
    std::size_t max_batch_tokens = 2048;
    std::size_t max_running = 64;
    std::size_t max_prefill_chunk = 512;
    bool lpm = true;
    std::size_t lpm_max_queue = 128; // beyond this many waiting, lpm falls back to fcfs
};

class scheduler_actor : public runtime::actor {
  public:
    scheduler_actor(runtime::asio::io_context& ioc, scheduler_config cfg,
                    std::shared_ptr<const runtime::model> model, const runtime::tokenizer& tok,
                    prefix_matcher_actor& matcher, kv_block_manager_actor& kv,
                    std::vector<attention_executor*> executors, stats_board& stats,
                    std::atomic<std::size_t>& queued);
    ~scheduler_actor() override;

    /// Starts the step loop; the future completes when it has ended.
    std::future<void> start();

    awaitable<void> submit(submission s);
    awaitable<void> cancel(runtime::request_id id);
    /// No new work will come: finish what is queued or running, and at the
    /// deadline end whatever is left with a shutting_down error.
    awaitable<void> drain(clock_type::time_point deadline);

  private:
    struct live;
    struct planned {
        live* r;
        std::size_t chunk;
    };

    awaitable<void> loop(std::shared_ptr<std::promise<void>> done);
    awaitable<void> reap();
    awaitable<void> admit();
    awaitable<std::vector<planned>> allocate_step();
    awaitable<void> run_step(std::vector<planned> plan);
    awaitable<void> cache_full_blocks(live& r);
    awaitable<void> preempt(live& r);
    awaitable<void> finish(live& r, finish_reason reason, std::error_code error = {},
                           std::string message = {});
    void on_token(live& r, runtime::sampled t);
    void wake();
    awaitable<void> publish();

    scheduler_config cfg_;
    std::shared_ptr<const runtime::model> model_;
    const runtime::tokenizer& tok_;
    prefix_matcher_actor& matcher_;
    kv_block_manager_actor& kv_;
    std::vector<attention_executor*> executors_;
    stats_board& stats_;
    std::atomic<std::size_t>& queued_;
    runtime::asio::steady_timer wake_;

    std::deque<std::unique_ptr<live>> waiting_;
    std::vector<std::unique_ptr<live>> running_;
    std::map<runtime::request_id, live*> by_id_;
    std::uint64_t events_ = 0; // submissions, cancellations, drain: bumped by wake()
    bool draining_ = false;
    clock_type::time_point deadline_ = clock_type::time_point::max();
    engine_stats counters_;
};

} // namespace radixrt::actors
