#pragma once
// The engine's insides behind the public facade (not installed, not used
// outside actors/): the model, the actors, and the gate that makes sure
// nothing is posted to the scheduler once it has stopped.
#include <future>
#include <mutex>
#include <shared_mutex>

#include <tbb/global_control.h>

#include "actors/constraint_compiler.hpp"
#include "actors/forward_executor.hpp"
#include "actors/request_checks.hpp"
#include "actors/scheduler_actor.hpp"
#include "radixrt/engine.hpp"

namespace radixrt {

class engine::core {
  public:
    explicit core(engine_config c);
    ~core() { stop(std::chrono::milliseconds(0)); }

    /// The new requests' ids, all or none.
    expected<std::vector<std::uint64_t>> submit(std::vector<request> rs,
                                                std::vector<std::shared_ptr<stream_sink>> sinks);
    void cancel(std::uint64_t id);
    void snapshot(cache_query q, std::function<void(expected<radixrt::cache_snapshot>)> done);
    void flush(std::function<void(expected<std::size_t>)> done);
    void stop(std::chrono::milliseconds drain);

    const engine_config cfg;
    const std::shared_ptr<const runtime::model> model;
    const runtime::tokenizer tok;
    actors::constraint_compiler constraints{tok}; // output constraints -> grammar processors
    model_info info;
    actors::request_limits limits;
    actors::stats_board stats;

  private:
    /// Posts m unless the scheduler has stopped (then false).
    bool post(actors::scheduler_message m);

    std::atomic<std::size_t> queued_{0};
    std::atomic<std::uint64_t> next_id_{1};
    std::unique_ptr<tbb::global_control> threads_;
    runtime::actor_system system_;
    std::shared_ptr<runtime::kv_storage> kv_;
    std::vector<std::unique_ptr<actors::forward_executor>> executors_;
    std::unique_ptr<actors::scheduler_actor> scheduler_;
    std::future<void> loop_done_;
    // The gate: submit holds it shared while it checks and posts; stop takes
    // it exclusively to close, so no message can slip in after the drain.
    std::shared_mutex gate_;
    bool accepting_ = true; // new requests (until shutdown begins)
    bool open_ = true;      // any message (until the scheduler loop has ended)
    std::mutex stop_mutex_; // serialises shutdown() calls
    bool stopped_ = false;
};

} // namespace radixrt
