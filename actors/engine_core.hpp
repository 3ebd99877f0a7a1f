#pragma once
// The engine's insides, for the gateway (introspection, flush) and the
// facade in engine.cpp. Not part of the public API.
#include <functional>
#include <future>
#include <mutex>

#include <tbb/global_control.h>

#include "actors/scheduler_actor.hpp"
#include "radixrt/engine.hpp"

namespace radixrt {

class engine::core {
  public:
    explicit core(engine_config c);
    ~core() { stop(std::chrono::milliseconds(0)); }

    boost::system::result<request_handle, std::error_code>
    submit(request r, std::shared_ptr<stream_sink> sink, std::weak_ptr<void> self);
    void cancel(std::uint64_t id);
    void stop(std::chrono::milliseconds drain);
    /// The radix tree's introspection; done runs on the prefix matcher's thread.
    void snapshot_cache(std::size_t max_nodes, std::function<void(actors::cache_snapshot)> done);
    /// Evicts every unlocked cached prefix; done gets the number of blocks freed.
    void flush_cache(std::function<void(std::size_t)> done);

    engine_config cfg;
    std::shared_ptr<const runtime::model> model;
    runtime::tokenizer tok;
    model_info info;
    actors::stats_board stats;
    std::atomic<std::size_t> queued{0};
    std::atomic<bool> accepting{true};
    std::atomic<std::uint64_t> next_id{1};
    std::size_t kv_blocks = 0;
    std::unique_ptr<tbb::global_control> threads;
    runtime::actor_system system;
    std::unique_ptr<actors::prefix_matcher_actor> matcher;
    std::unique_ptr<actors::kv_block_manager_actor> kv;
    std::vector<std::unique_ptr<actors::attention_executor>> executors;
    std::unique_ptr<actors::scheduler_actor> scheduler;
    std::future<void> loop_done;
    std::mutex stop_mutex; // serialises shutdown() calls from several threads
    bool stopped = false;
};

} // namespace radixrt
