#pragma once
// The KV block manager: gives out blocks of the paged KV pool, reference
// counted. An allocation it cannot meet from free blocks first has the
// prefix matcher evict LRU prefixes, and only then fails (nothing taken).
// A plain component of the batch planner (see prefix_matcher.hpp).
#include <optional>
#include <span>
#include <vector>

#include "actors/prefix_matcher.hpp"
#include "runtime/block_allocator.hpp"

namespace radixrt::actors {

class kv_block_manager {
  public:
    kv_block_manager(std::size_t n_blocks, prefix_matcher& matcher);

    /// n blocks, or nullopt with nothing taken when even eviction cannot free enough.
    std::optional<std::vector<runtime::block_id>> allocate(std::size_t n);
    void release(std::span<const runtime::block_id> blocks);
    /// Evicts every unlocked cached prefix and frees its blocks; returns how many.
    std::size_t flush();

    runtime::block_stats usage() const { return pool_.stats(); }
    std::uint32_t ref_count(runtime::block_id b) const { return pool_.ref_count(b); }
    std::string check_invariants() const { return pool_.check_invariants(); }

  private:
    runtime::block_allocator pool_;
    prefix_matcher& matcher_;
};

} // namespace radixrt::actors
