#pragma once
// Replies of the prefix-matcher actor (its requests are the handler arguments).
#include <cstdint>
#include <vector>

#include "runtime/ids.hpp"
#include "runtime/radix_tree.hpp"

namespace radixrt::actors {

/// A cached prefix, locked for the asking request.
struct acquired_prefix {
    std::size_t tokens = 0;
    std::vector<runtime::block_id> blocks;
    runtime::node_id node{};
};

/// After caching a request's full blocks: its new table for the cached part.
struct cached_prefix {
    std::vector<runtime::block_id> blocks;     // canonical ids for the cached tokens
    runtime::node_id node{};                   // locked; the previous lock is released
    std::vector<runtime::block_id> duplicates; // the request's own copies, to release
};

struct cache_snapshot {
    runtime::sharing_graph graph;
    std::vector<runtime::prefix_group> groups;
    runtime::savings_estimate savings;
    runtime::tree_counters counters;
    std::size_t cached_blocks = 0, evictable_tokens = 0, protected_tokens = 0, block_size = 0;
    bool enabled = true;
};

} // namespace radixrt::actors
