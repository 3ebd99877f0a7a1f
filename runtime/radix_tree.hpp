#pragma once
// The radix prefix cache (RadixAttention at block granularity). Edges hold
// runs of whole blocks of tokens and the ids of the KV blocks computed for
// them; children are keyed by their first block. Pure data structure: it
// never calls the block allocator. Ownership protocol:
//   - the tree holds one reference to every block it stores;
//   - insert() takes over the caller's reference to each block it stores and
//     tells the caller which of its blocks were duplicates (to release);
//   - evict() drops the tree's reference and hands the blocks back (to release);
//   - requests using cached blocks protect them with lock()/unlock().
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/ids.hpp"
#include "runtime/tokenizer.hpp"

namespace radixrt::runtime {

struct match_result {
    std::size_t tokens = 0;       // matched length, a multiple of the block size
    std::vector<block_id> blocks; // tokens / block_size ids
    node_id node{};               // the node ending exactly at the match (lock this)
};

struct insert_result {
    std::size_t present =
        0; // leading tokens already cached: the caller's blocks for them are duplicates
    std::size_t inserted = 0; // tokens stored after them: the tree now owns those blocks
    node_id node{};           // the node ending at present + inserted
};

struct tree_counters {
    std::uint64_t lookups = 0;
    std::uint64_t requested_tokens = 0; // tokens asked for by lookups
    std::uint64_t matched_tokens = 0;   // of which served from the cache
    std::uint64_t inserts = 0;
    std::uint64_t inserted_tokens = 0;
    std::uint64_t evicted_blocks = 0;
};

struct shared_prefix {
    request_id request{};
    std::size_t tokens = 0; // length of the common prefix
};

struct prefix_group {
    std::string ns;
    std::size_t shared_tokens = 0; // common to every member, a multiple of the block size
    std::vector<request_id> requests;
};

/// Snapshot of the tree for introspection (serialised by the gateway).
struct sharing_graph {
    struct node_info {
        node_id id{};
        node_id parent{};
        std::string ns;
        std::size_t tokens = 0;       // on this edge
        std::size_t depth_tokens = 0; // from the root to the end of this edge
        std::uint32_t locks = 0;
        std::uint64_t hits = 0;
        std::uint64_t last_access = 0; // logical clock
        std::size_t live_requests = 0; // registered requests whose tokens run through this node
    };
    std::vector<node_info> nodes;     // parents before children; edges are (parent, id)
    std::vector<node_id> convergence; // nodes that two or more live requests share
    bool truncated = false;
};

struct savings_estimate {
    std::uint64_t requested_prefill_tokens = 0; // over all lookups
    std::uint64_t cached_prefill_tokens = 0;    // served from the cache instead of computed
    std::uint64_t live_tokens = 0;              // prompt tokens of the live requests
    std::uint64_t live_shared_tokens = 0;       // of which shared with another live request
};

class radix_tree {
  public:
    explicit radix_tree(std::size_t block_size);
    ~radix_tree();
    radix_tree(const radix_tree&) = delete;
    radix_tree& operator=(const radix_tree&) = delete;

    std::size_t block_size() const { return block_size_; }

    /// The longest cached prefix of tokens (whole blocks) under namespace ns.
    /// Splits the last edge when the match ends inside it; refreshes the
    /// access time of the path.
    match_result match_prefix(std::string_view ns, std::span<const token_id> tokens);
    /// Length of the cached prefix, without touching anything (no split, no
    /// access-time refresh, no counters): for scheduling decisions.
    std::size_t peek_prefix(std::string_view ns, std::span<const token_id> tokens) const;
    /// Stores the whole blocks of tokens whose KV is in blocks (one id per
    /// block). See insert_result for who owns what afterwards.
    insert_result insert(std::string_view ns, std::span<const token_id> tokens,
                         std::span<const block_id> blocks);

    /// The block ids from the root to the end of node's edge (no side
    /// effects, not a look-up); empty for a root or an unknown node.
    std::vector<block_id> path_blocks(node_id node) const;

    /// Protects the path from the root to node against eviction; false if the
    /// node no longer exists.
    bool lock(node_id node);
    /// Undoes one lock(); false if the node does not exist or is not locked.
    bool unlock(node_id node);

    /// Evicts least-recently-used unlocked leaves until at least n blocks are
    /// freed or nothing evictable is left; returns the freed blocks, which the
    /// caller releases.
    std::vector<block_id> evict(std::size_t n_blocks);

    std::size_t cached_blocks() const {
        return (evictable_tokens_ + protected_tokens_) / block_size_;
    }
    std::size_t evictable_tokens() const { return evictable_tokens_; }
    std::size_t protected_tokens() const { return protected_tokens_; }
    const tree_counters& counters() const { return counters_; }

    // Live requests, for introspection only (matching never depends on them).
    void register_request(request_id id, std::string_view ns, std::span<const token_id> tokens);
    void unregister_request(request_id id);
    /// Live requests under ns sharing at least min_tokens leading tokens with tokens.
    std::vector<shared_prefix> find_shared_prefixes(std::string_view ns,
                                                    std::span<const token_id> tokens,
                                                    std::size_t min_tokens = 1) const;
    /// Live requests grouped by a shared prefix of at least min_tokens
    /// (rounded to whole blocks); groups have two or more members.
    std::vector<prefix_group> prefix_groups(std::size_t min_tokens) const;
    /// Namespaces to include (empty: all).
    using ns_filter = std::function<bool(std::string_view ns)>;
    sharing_graph graph(std::size_t max_nodes, const ns_filter& keep = {}) const;
    struct ns_usage {
        std::size_t evictable_tokens = 0, protected_tokens = 0;
    };
    /// Cached tokens of the namespaces keep selects.
    ns_usage usage(const ns_filter& keep) const;
    savings_estimate savings() const;

    struct cached_block {
        std::string ns;
        std::vector<token_id> prefix; // every token up to the end of this block
        block_id block{};
        std::uint32_t locks = 0;
    };
    /// Every cached block with its full prefix (for tests and debugging).
    std::vector<cached_block> dump() const;
    /// Empty when every incremental count and index agrees with a full walk.
    std::string check_invariants() const;

  private:
    struct node;
    struct live_request {
        std::string ns;
        std::vector<token_id> tokens;
    };

    node* root(std::string_view ns);
    node* find(node_id id) const;
    node* split(node* n, std::size_t at);
    void touch(node* n);
    void set_evictable(node* n);
    void remove_candidate(node* n);
    std::uint64_t key_of(std::span<const token_id> first_block) const;
    std::size_t common_blocks(const node* n, std::span<const token_id> tokens) const;

    std::size_t block_size_;
    std::map<std::string, std::unique_ptr<node>, std::less<>> roots_;
    std::unordered_map<std::uint64_t, node*> nodes_; // by id, every non-root node
    std::set<std::pair<std::uint64_t, std::uint64_t>>
        candidates_; // (last access, id) of unlocked leaves
    std::uint64_t next_id_ = 1;
    std::uint64_t clock_ = 0;
    std::size_t evictable_tokens_ = 0;
    std::size_t protected_tokens_ = 0;
    tree_counters counters_;
    std::map<request_id, live_request> live_;
};

} // namespace radixrt::runtime
