#pragma once
// Owns the radix tree. With the cache disabled it matches nothing and stores
// nothing, so every request computes its whole prompt.
#include <memory>
#include <string>
#include <vector>

#include "actors/prefix_matcher_messages.hpp"
#include "runtime/actor.hpp"

namespace radixrt::actors {

using runtime::asio::awaitable;
using token_vec = std::shared_ptr<const std::vector<runtime::token_id>>;

class prefix_matcher_actor : public runtime::actor {
  public:
    prefix_matcher_actor(runtime::asio::io_context& ioc, std::size_t block_size, bool enabled);

    /// Longest cached prefix of tokens[0, limit), locked.
    awaitable<acquired_prefix> acquire(std::string ns, token_vec tokens, std::size_t limit);
    /// Cached prefix lengths of each sequence (no side effects): for lpm ordering.
    awaitable<std::vector<std::size_t>> peek(std::string ns, std::vector<token_vec> seqs);
    /// Stores tokens[0, n_blocks * block) whose KV is in blocks (the first
    /// shared_blocks already the tree's, locked through node).
    awaitable<cached_prefix> cache(std::string ns, token_vec tokens,
                                   std::vector<runtime::block_id> blocks, std::size_t shared_blocks,
                                   runtime::node_id node);
    awaitable<void> unlock(runtime::node_id node);
    /// LRU eviction of unlocked prefixes; the blocks go back to the caller.
    awaitable<std::vector<runtime::block_id>> evict(std::size_t n_blocks);
    awaitable<void> register_request(runtime::request_id id, std::string ns, token_vec tokens);
    awaitable<void> unregister_request(runtime::request_id id);
    awaitable<cache_snapshot> snapshot(std::size_t max_nodes);
    /// (cached blocks, evictable blocks)
    awaitable<std::pair<std::size_t, std::size_t>> usage();

  private:
    runtime::radix_tree tree_;
    bool enabled_;
};

} // namespace radixrt::actors
