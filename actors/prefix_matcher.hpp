#pragma once
// The prefix matcher: the radix tree as the scheduler uses it. It finds and
// locks the longest cached prefix of a request, stores the blocks a request
// computed, evicts LRU prefixes for the block manager, and describes itself
// for introspection. With the cache disabled it matches and stores nothing.
// A plain component (no Asio): the batch planner owns it, so it lives on the
// scheduler actor's strand.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "radixrt/introspection.hpp"
#include "runtime/ids.hpp"
#include "runtime/radix_tree.hpp"

namespace radixrt::actors {

class prefix_matcher {
  public:
    prefix_matcher(std::size_t block_size, bool enabled);

    /// A cached prefix, locked for the asking request (node 0: nothing).
    struct acquired {
        std::size_t tokens = 0;
        std::vector<runtime::block_id> blocks;
        runtime::node_id node{};
    };
    /// The longest cached prefix of tokens; counts as a look-up.
    acquired acquire(std::string_view ns, std::span<const runtime::token_id> tokens);
    /// Cached prefix length, without side effects (for lpm ordering).
    std::size_t peek(std::string_view ns, std::span<const runtime::token_id> tokens) const;

    /// After caching a request's full blocks: its table for the cached part.
    struct cached {
        std::vector<runtime::block_id> blocks;     // canonical ids of the cached prefix
        runtime::node_id node{};                   // locked; the previous lock is released
        std::vector<runtime::block_id> duplicates; // the request's own copies, to release
    };
    /// Stores tokens (whole blocks) whose KV is in blocks; the first
    /// shared_blocks are already the tree's, locked through node.
    cached cache(std::string_view ns, std::span<const runtime::token_id> tokens,
                 std::span<const runtime::block_id> blocks, std::size_t shared_blocks,
                 runtime::node_id node);
    /// Undoes acquire()'s or cache()'s lock.
    void release(runtime::node_id node);
    /// LRU eviction of unlocked prefixes; the blocks go back to the caller.
    std::vector<runtime::block_id> evict(std::size_t n_blocks);

    /// Live requests, for introspection (prefix groups, convergence).
    void track(runtime::request_id id, std::string_view ns,
               std::span<const runtime::token_id> tokens);
    void untrack(runtime::request_id id);

    radixrt::cache_snapshot snapshot(const radixrt::cache_query& q) const;
    radixrt::cache_counters counters() const;
    std::size_t cached_blocks() const { return tree_.cached_blocks(); }
    std::size_t evictable_blocks() const { return tree_.evictable_tokens() / tree_.block_size(); }
    bool enabled() const { return enabled_; }
    std::string check_invariants() const { return tree_.check_invariants(); }

  private:
    runtime::radix_tree tree_;
    bool enabled_;
};

} // namespace radixrt::actors
