#pragma once
// Reference-counted KV blocks over a fixed pool. Allocation pops a free list
// in O(1) per block and is all-or-nothing; a block returns to the free list
// when its last reference is released.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/ids.hpp"

namespace radixrt::runtime {

struct block_stats {
    std::size_t total = 0;
    std::size_t free = 0;
    std::size_t in_use = 0; // referenced at least once
};

class block_allocator {
  public:
    explicit block_allocator(std::size_t n_blocks);

    /// n blocks, each with one reference, or nullopt with nothing changed.
    std::optional<std::vector<block_id>> allocate(std::size_t n);
    /// One more reference to a referenced block. Throws std::logic_error on a
    /// free or unknown block.
    void retain(block_id b);
    /// Drops one reference; the block is free again when none is left.
    /// Throws std::logic_error on a free or unknown block.
    void release(block_id b);
    void release(std::span<const block_id> blocks);

    std::uint32_t ref_count(block_id b) const;
    block_stats stats() const { return {refs_.size(), free_.size(), refs_.size() - free_.size()}; }

    /// Empty when the pool is consistent: free + referenced == total, no
    /// block both free and referenced, no block listed free twice.
    std::string check_invariants() const;

  private:
    std::uint32_t& ref(block_id b, const char* op);

    std::vector<std::uint32_t> refs_; // per block
    std::vector<block_id> free_;      // stack of free blocks
};

} // namespace radixrt::runtime
