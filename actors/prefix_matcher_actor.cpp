#include "actors/prefix_matcher_actor.hpp"

#include <stdexcept>

namespace radixrt::actors {

using namespace runtime;

prefix_matcher_actor::prefix_matcher_actor(asio::io_context& ioc, std::size_t block_size,
                                           bool enabled)
    : actor(ioc, "prefix-matcher"), tree_(block_size), enabled_(enabled) {}

awaitable<acquired_prefix> prefix_matcher_actor::acquire(std::string ns, token_vec tokens,
                                                         std::size_t limit) {
    acquired_prefix out;
    if (!enabled_) {
        co_return out;
    }
    auto m = tree_.match_prefix(ns, std::span(*tokens).first(std::min(limit, tokens->size())));
    if (!tree_.lock(m.node)) {
        throw std::logic_error("acquire: matched node vanished");
    }
    out.tokens = m.tokens;
    out.blocks = std::move(m.blocks);
    out.node = m.node;
    co_return out;
}

awaitable<std::vector<std::size_t>> prefix_matcher_actor::peek(std::string ns,
                                                               std::vector<token_vec> seqs) {
    std::vector<std::size_t> out;
    out.reserve(seqs.size());
    for (const auto& s : seqs) {
        out.push_back(enabled_ ? tree_.peek_prefix(ns, *s) : 0);
    }
    co_return out;
}

awaitable<cached_prefix> prefix_matcher_actor::cache(std::string ns, token_vec tokens,
                                                     std::vector<block_id> blocks,
                                                     std::size_t shared_blocks, node_id node) {
    cached_prefix out;
    if (!enabled_) {
        out.blocks.assign(blocks.begin(), blocks.begin() + std::ptrdiff_t(shared_blocks));
        out.node = node;
        co_return out;
    }
    const std::size_t bs = tree_.block_size();
    const std::span<const token_id> t = std::span(*tokens).first(blocks.size() * bs);
    const auto ins = tree_.insert(ns, t, blocks);
    // The tree's ids for everything now cached (its own for the duplicates).
    auto m = tree_.match_prefix(ns, t.first(ins.present + ins.inserted));
    tree_.lock(m.node);
    tree_.unlock(node);
    for (std::size_t b = shared_blocks; b < m.blocks.size(); ++b) {
        if (m.blocks[b] != blocks[b]) {
            out.duplicates.push_back(blocks[b]);
        }
    }
    out.blocks = std::move(m.blocks);
    out.node = m.node;
    co_return out;
}

awaitable<void> prefix_matcher_actor::unlock(node_id node) {
    tree_.unlock(node);
    co_return;
}

awaitable<std::vector<block_id>> prefix_matcher_actor::evict(std::size_t n_blocks) {
    co_return tree_.evict(n_blocks);
}

awaitable<void> prefix_matcher_actor::register_request(request_id id, std::string ns,
                                                       token_vec tokens) {
    tree_.register_request(id, ns, *tokens);
    co_return;
}

awaitable<void> prefix_matcher_actor::unregister_request(request_id id) {
    tree_.unregister_request(id);
    co_return;
}

awaitable<cache_snapshot> prefix_matcher_actor::snapshot(std::size_t max_nodes) {
    cache_snapshot s;
    s.graph = tree_.graph(max_nodes);
    s.groups = tree_.prefix_groups(tree_.block_size());
    s.savings = tree_.savings();
    s.counters = tree_.counters();
    s.cached_blocks = tree_.cached_blocks();
    s.evictable_tokens = tree_.evictable_tokens();
    s.protected_tokens = tree_.protected_tokens();
    s.block_size = tree_.block_size();
    s.enabled = enabled_;
    co_return s;
}

awaitable<std::pair<std::size_t, std::size_t>> prefix_matcher_actor::usage() {
    co_return std::pair(tree_.cached_blocks(), tree_.evictable_tokens() / tree_.block_size());
}

} // namespace radixrt::actors
