#include "actors/prefix_matcher.hpp"

#include <stdexcept>

namespace radixrt::actors {

using namespace runtime;

prefix_matcher::prefix_matcher(std::size_t block_size, bool enabled)
    : tree_(block_size), enabled_(enabled) {}

prefix_matcher::acquired prefix_matcher::acquire(std::string_view ns,
                                                 std::span<const token_id> tokens) {
    acquired out;
    if (!enabled_) {
        return out;
    }
    auto m = tree_.match_prefix(ns, tokens);
    if (!tree_.lock(m.node)) {
        throw std::logic_error("prefix_matcher: the matched node vanished");
    }
    out.tokens = m.tokens;
    out.blocks = std::move(m.blocks);
    out.node = m.node;
    return out;
}

std::size_t prefix_matcher::peek(std::string_view ns, std::span<const token_id> tokens) const {
    return enabled_ ? tree_.peek_prefix(ns, tokens) : 0;
}

prefix_matcher::cached prefix_matcher::cache(std::string_view ns, std::span<const token_id> tokens,
                                             std::span<const block_id> blocks,
                                             std::size_t shared_blocks, node_id node) {
    cached out;
    if (!enabled_) {
        out.blocks.assign(blocks.begin(), blocks.begin() + std::ptrdiff_t(shared_blocks));
        out.node = node;
        return out;
    }
    const auto ins = tree_.insert(ns, tokens.first(blocks.size() * tree_.block_size()), blocks);
    // The tree's ids for everything now cached (its own for the duplicates).
    out.blocks = tree_.path_blocks(ins.node);
    tree_.lock(ins.node);
    tree_.unlock(node);
    for (std::size_t b = shared_blocks; b < out.blocks.size(); ++b) {
        if (out.blocks[b] != blocks[b]) {
            out.duplicates.push_back(blocks[b]);
        }
    }
    out.node = ins.node;
    return out;
}

void prefix_matcher::release(node_id node) {
    tree_.unlock(node);
}

std::vector<block_id> prefix_matcher::evict(std::size_t n_blocks) {
    return tree_.evict(n_blocks);
}

void prefix_matcher::track(request_id id, std::string_view ns, std::span<const token_id> tokens) {
    tree_.register_request(id, ns, tokens);
}

void prefix_matcher::untrack(request_id id) {
    tree_.unregister_request(id);
}

radixrt::cache_counters prefix_matcher::counters() const {
    const auto& c = tree_.counters();
    return {c.lookups, c.requested_tokens, c.matched_tokens,
            c.inserts, c.inserted_tokens,  c.evicted_blocks};
}

radixrt::cache_snapshot prefix_matcher::snapshot(const radixrt::cache_query& q) const {
    radixrt::cache_snapshot s;
    s.enabled = enabled_;
    s.block_size = tree_.block_size();
    const std::string& prefix = q.namespace_prefix;
    auto in_scope = [&prefix](std::string_view ns) { return ns.starts_with(prefix); };
    if (prefix.empty()) {
        s.cached_blocks = tree_.cached_blocks();
        s.evictable_tokens = tree_.evictable_tokens();
        s.protected_tokens = tree_.protected_tokens();
        s.counters = counters();
        const auto sv = tree_.savings();
        s.saved = {sv.requested_prefill_tokens, sv.cached_prefill_tokens, sv.live_tokens,
                   sv.live_shared_tokens};
    } else {
        s.scoped = true;
        const auto u = tree_.usage(in_scope);
        s.cached_blocks = (u.evictable_tokens + u.protected_tokens) / tree_.block_size();
        s.evictable_tokens = u.evictable_tokens;
        s.protected_tokens = u.protected_tokens;
    }
    for (const auto& g : tree_.prefix_groups(tree_.block_size())) {
        if (!in_scope(g.ns)) {
            continue;
        }
        radixrt::cache_snapshot::prefix_group pg{g.ns, g.shared_tokens, {}};
        for (auto r : g.requests) {
            pg.requests.push_back(to_int(r));
        }
        s.groups.push_back(std::move(pg));
    }
    const auto graph = tree_.graph(q.max_nodes, in_scope);
    for (const auto& n : graph.nodes) {
        s.nodes.push_back({to_int(n.id), to_int(n.parent), n.ns, n.tokens, n.depth_tokens, n.locks,
                           n.hits, n.last_access, n.live_requests});
    }
    for (auto c : graph.convergence) {
        s.convergence.push_back(to_int(c));
    }
    s.truncated = graph.truncated;
    return s;
}

} // namespace radixrt::actors
