#pragma once
// Owns the block pool and the KV arena. An allocation it cannot meet from
// free blocks first has the prefix matcher evict LRU prefixes, and only then
// fails.
#include <optional>
#include <vector>

#include "actors/prefix_matcher_actor.hpp"
#include "runtime/block_allocator.hpp"
#include "runtime/kv_storage.hpp"

namespace radixrt::actors {

class kv_block_manager_actor : public runtime::actor {
  public:
    kv_block_manager_actor(runtime::asio::io_context& ioc, const runtime::llama_config& cfg,
                           std::size_t n_blocks, std::size_t block_size,
                           prefix_matcher_actor& matcher);

    /// n blocks, or nullopt with nothing taken when even eviction cannot free enough.
    awaitable<std::optional<std::vector<runtime::block_id>>> allocate(std::size_t n);
    awaitable<void> release(std::vector<runtime::block_id> blocks);
    awaitable<runtime::block_stats> usage();
    /// Evicts every unlocked cached prefix and frees its blocks; returns how many.
    awaitable<std::size_t> flush();

    /// The arena, for executors during a step: each writes only the blocks
    /// allocated to its sequences and reads their cached prefixes.
    runtime::kv_storage& storage() { return storage_; }

  private:
    runtime::block_allocator pool_;
    runtime::kv_storage storage_;
    prefix_matcher_actor& matcher_;
};

} // namespace radixrt::actors
