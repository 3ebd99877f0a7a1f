#include "runtime/radix_tree.hpp"

#include <algorithm>
#include <deque>

namespace radixrt::runtime {

struct radix_tree::node {
    std::uint64_t id = 0; // 0: a namespace root
    node* parent = nullptr;
    const std::string* ns = nullptr;
    std::vector<token_id> tokens; // the edge into this node, whole blocks
    std::vector<block_id> blocks; // tokens.size() / block_size
    std::unordered_map<std::uint64_t, std::unique_ptr<node>> children; // by key_of(first block)
    std::uint32_t locks = 0;
    std::uint64_t hits = 0;
    std::uint64_t last_access = 0;
    std::size_t depth = 0; // tokens from the root to the end of this edge
};

namespace {

std::size_t common_prefix(std::span<const token_id> a, std::span<const token_id> b) {
    const std::size_t n = std::min(a.size(), b.size());
    return std::size_t(std::mismatch(a.begin(), a.begin() + std::ptrdiff_t(n), b.begin()).first -
                       a.begin());
}

} // namespace

radix_tree::radix_tree(std::size_t block_size) : block_size_(block_size == 0 ? 1 : block_size) {}
radix_tree::~radix_tree() = default;

std::uint64_t radix_tree::key_of(std::span<const token_id> first_block) const {
    // 64-bit mix of the block's tokens. Two different first blocks under one
    // node with the same key is astronomically rare; if it happens, the
    // second simply is not cached (common_blocks() returns 0).
    std::uint64_t h = 0x9e3779b97f4a7c15ull;
    for (std::size_t i = 0; i < block_size_; ++i) {
        h ^= std::uint32_t(first_block[i]);
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h;
}

std::size_t radix_tree::common_blocks(const node* n, std::span<const token_id> tokens) const {
    return common_prefix(n->tokens, tokens) / block_size_ * block_size_;
}

radix_tree::node* radix_tree::root(std::string_view ns) {
    auto it = roots_.find(ns);
    if (it == roots_.end()) {
        auto r = std::make_unique<node>();
        it = roots_.emplace(std::string(ns), std::move(r)).first;
        it->second->ns = &it->first;
    }
    return it->second.get();
}

radix_tree::node* radix_tree::find(node_id id) const {
    auto it = nodes_.find(to_int(id));
    return it == nodes_.end() ? nullptr : it->second;
}

// A node is an eviction candidate iff it is a non-root, unlocked leaf. The
// set is keyed by (last access, id), so callers take a node out before they
// change it and put it back after.
void radix_tree::remove_candidate(node* n) {
    candidates_.erase({n->last_access, n->id});
}

void radix_tree::set_evictable(node* n) {
    if (n->id != 0 && n->children.empty() && n->locks == 0) {
        candidates_.insert({n->last_access, n->id});
    }
}

void radix_tree::touch(node* n) {
    remove_candidate(n);
    n->last_access = ++clock_;
    set_evictable(n);
}

radix_tree::node* radix_tree::split(node* n, std::size_t at) {
    // n keeps its identity (and any locks held through it) as the lower part.
    const std::uint64_t key = key_of(n->tokens);
    auto mid = std::make_unique<node>();
    mid->id = next_id_++;
    mid->parent = n->parent;
    mid->ns = n->ns;
    mid->tokens.assign(n->tokens.begin(), n->tokens.begin() + std::ptrdiff_t(at));
    mid->blocks.assign(n->blocks.begin(), n->blocks.begin() + std::ptrdiff_t(at / block_size_));
    mid->locks = n->locks;
    mid->hits = n->hits;
    mid->last_access = n->last_access;
    mid->depth = n->depth - n->tokens.size() + at;
    n->tokens.erase(n->tokens.begin(), n->tokens.begin() + std::ptrdiff_t(at));
    n->blocks.erase(n->blocks.begin(), n->blocks.begin() + std::ptrdiff_t(at / block_size_));
    auto& slot = n->parent->children[key];
    std::unique_ptr<node> lower = std::move(slot);
    n->parent = mid.get();
    mid->children.emplace(key_of(n->tokens), std::move(lower));
    node* m = mid.get();
    nodes_.emplace(m->id, m);
    slot = std::move(mid);
    return m;
}

match_result radix_tree::match_prefix(std::string_view ns, std::span<const token_id> tokens) {
    ++counters_.lookups;
    counters_.requested_tokens += tokens.size();
    match_result res;
    node* cur = root(ns);
    const std::size_t usable = tokens.size() / block_size_ * block_size_;
    std::size_t pos = 0;
    while (pos < usable) {
        auto it = cur->children.find(key_of(tokens.subspan(pos, block_size_)));
        if (it == cur->children.end()) {
            break;
        }
        node* child = it->second.get();
        const std::size_t m = common_blocks(child, tokens.subspan(pos, usable - pos));
        if (m == 0) {
            break;
        }
        const bool partial = m < child->tokens.size();
        if (partial) {
            child = split(child, m);
        }
        res.blocks.insert(res.blocks.end(), child->blocks.begin(), child->blocks.end());
        pos += m;
        cur = child;
        ++cur->hits;
        touch(cur);
        if (partial) {
            break;
        }
    }
    res.tokens = pos;
    res.node = node_id(cur->id);
    counters_.matched_tokens += pos;
    return res;
}

std::size_t radix_tree::peek_prefix(std::string_view ns, std::span<const token_id> tokens) const {
    auto r = roots_.find(ns);
    if (r == roots_.end()) {
        return 0;
    }
    const node* cur = r->second.get();
    const std::size_t usable = tokens.size() / block_size_ * block_size_;
    std::size_t pos = 0;
    while (pos < usable) {
        auto it = cur->children.find(key_of(tokens.subspan(pos, block_size_)));
        if (it == cur->children.end()) {
            break;
        }
        const std::size_t m = common_blocks(it->second.get(), tokens.subspan(pos, usable - pos));
        pos += m;
        if (m < it->second->tokens.size()) {
            break;
        }
        cur = it->second.get();
    }
    return pos;
}

insert_result radix_tree::insert(std::string_view ns, std::span<const token_id> tokens,
                                 std::span<const block_id> blocks) {
    ++counters_.inserts;
    insert_result res;
    node* cur = root(ns);
    const std::size_t usable =
        std::min(tokens.size(), blocks.size() * block_size_) / block_size_ * block_size_;
    std::size_t pos = 0;
    while (pos < usable) {
        const std::uint64_t key = key_of(tokens.subspan(pos, block_size_));
        auto it = cur->children.find(key);
        if (it == cur->children.end()) {
            auto leaf = std::make_unique<node>();
            leaf->id = next_id_++;
            leaf->parent = cur;
            leaf->ns = cur->ns;
            leaf->tokens.assign(tokens.begin() + std::ptrdiff_t(pos),
                                tokens.begin() + std::ptrdiff_t(usable));
            leaf->blocks.assign(blocks.begin() + std::ptrdiff_t(pos / block_size_),
                                blocks.begin() + std::ptrdiff_t(usable / block_size_));
            leaf->depth = cur->depth + leaf->tokens.size();
            leaf->last_access = ++clock_;
            remove_candidate(cur); // no longer a leaf
            node* l = leaf.get();
            cur->children.emplace(key, std::move(leaf));
            nodes_.emplace(l->id, l);
            evictable_tokens_ += l->tokens.size();
            set_evictable(l);
            res.inserted = usable - pos;
            counters_.inserted_tokens += res.inserted;
            res.present = pos;
            res.node = node_id(l->id);
            return res;
        }
        node* child = it->second.get();
        const std::size_t m = common_blocks(child, tokens.subspan(pos, usable - pos));
        if (m == 0) {
            break; // a key collision: leave the rest uncached
        }
        if (m < child->tokens.size()) {
            child = split(child, m);
        }
        pos += m;
        cur = child;
        touch(cur);
    }
    res.present = pos;
    res.node = node_id(cur->id);
    return res;
}

std::vector<block_id> radix_tree::path_blocks(node_id id) const {
    std::vector<const node*> path;
    for (const node* n = find(id); n != nullptr && n->id != 0; n = n->parent) {
        path.push_back(n);
    }
    std::vector<block_id> out;
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
        out.insert(out.end(), (*it)->blocks.begin(), (*it)->blocks.end());
    }
    return out;
}

bool radix_tree::lock(node_id id) {
    if (to_int(id) == 0) {
        return true; // the root: nothing to protect
    }
    node* n = find(id);
    if (n == nullptr) {
        return false;
    }
    for (node* p = n; p->id != 0; p = p->parent) {
        remove_candidate(p);
        if (p->locks++ == 0) {
            evictable_tokens_ -= p->tokens.size();
            protected_tokens_ += p->tokens.size();
        }
    }
    return true;
}

bool radix_tree::unlock(node_id id) {
    if (to_int(id) == 0) {
        return true;
    }
    node* n = find(id);
    if (n == nullptr || n->locks == 0) {
        return false;
    }
    for (node* p = n; p->id != 0; p = p->parent) {
        if (--p->locks == 0) {
            protected_tokens_ -= p->tokens.size();
            evictable_tokens_ += p->tokens.size();
        }
        set_evictable(p);
    }
    return true;
}

std::vector<block_id> radix_tree::evict(std::size_t n_blocks) {
    std::vector<block_id> freed;
    while (freed.size() < n_blocks && !candidates_.empty()) {
        const auto [access, id] = *candidates_.begin();
        candidates_.erase(candidates_.begin());
        node* v = nodes_.at(id);
        node* parent = v->parent;
        freed.insert(freed.end(), v->blocks.begin(), v->blocks.end());
        evictable_tokens_ -= v->tokens.size();
        nodes_.erase(id);
        parent->children.erase(key_of(v->tokens)); // destroys v
        set_evictable(parent);                     // a parent left childless joins the candidates
    }
    counters_.evicted_blocks += freed.size();
    return freed;
}

// ---- live requests and introspection ----

void radix_tree::register_request(request_id id, std::string_view ns,
                                  std::span<const token_id> tokens) {
    live_[id] = {std::string(ns), {tokens.begin(), tokens.end()}};
}

void radix_tree::unregister_request(request_id id) {
    live_.erase(id);
}

std::vector<shared_prefix> radix_tree::find_shared_prefixes(std::string_view ns,
                                                            std::span<const token_id> tokens,
                                                            std::size_t min_tokens) const {
    std::vector<shared_prefix> out;
    for (const auto& [id, r] : live_) {
        if (r.ns != ns) {
            continue;
        }
        const std::size_t n = common_prefix(r.tokens, tokens);
        if (n >= std::max<std::size_t>(1, min_tokens)) {
            out.push_back({id, n});
        }
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.tokens > b.tokens; });
    return out;
}

namespace {

// Live requests of one namespace in lexicographic token order, so that the
// requests sharing a prefix are adjacent.
template <typename Live>
std::map<std::string, std::vector<const typename Live::value_type*>>
sorted_by_ns(const Live& live) {
    std::map<std::string, std::vector<const typename Live::value_type*>> out;
    for (const auto& entry : live) {
        out[entry.second.ns].push_back(&entry);
    }
    for (auto& [ns, v] : out) {
        std::sort(v.begin(), v.end(),
                  [](auto* a, auto* b) { return a->second.tokens < b->second.tokens; });
    }
    return out;
}

} // namespace

std::vector<prefix_group> radix_tree::prefix_groups(std::size_t min_tokens) const {
    const std::size_t min =
        std::max<std::size_t>(1, (min_tokens + block_size_ - 1) / block_size_) * block_size_;
    std::vector<prefix_group> out;
    for (const auto& [ns, v] : sorted_by_ns(live_)) {
        prefix_group g;
        for (std::size_t i = 0; i < v.size(); ++i) {
            const std::size_t lcp =
                i == 0 ? 0
                       : common_prefix(v[i - 1]->second.tokens, v[i]->second.tokens) / block_size_ *
                             block_size_;
            if (lcp >= min) {
                if (g.requests.empty()) {
                    g = {ns, lcp, {v[i - 1]->first}};
                }
                g.shared_tokens = std::min(g.shared_tokens, lcp);
                g.requests.push_back(v[i]->first);
            } else if (!g.requests.empty()) {
                out.push_back(std::move(g));
                g = {};
            }
        }
        if (!g.requests.empty()) {
            out.push_back(std::move(g));
        }
    }
    return out;
}

savings_estimate radix_tree::savings() const {
    savings_estimate s;
    s.requested_prefill_tokens = counters_.requested_tokens;
    s.cached_prefill_tokens = counters_.matched_tokens;
    for (const auto& [ns, v] : sorted_by_ns(live_)) {
        for (std::size_t i = 0; i < v.size(); ++i) {
            s.live_tokens += v[i]->second.tokens.size();
            if (i > 0) { // computed once by the predecessor, reusable by this one
                s.live_shared_tokens +=
                    common_prefix(v[i - 1]->second.tokens, v[i]->second.tokens) / block_size_ *
                    block_size_;
            }
        }
    }
    return s;
}

radix_tree::ns_usage radix_tree::usage(const ns_filter& keep) const {
    ns_usage u;
    std::vector<const node*> stack;
    for (const auto& [ns, r] : roots_) {
        if (!keep || keep(ns)) {
            stack.push_back(r.get());
        }
    }
    while (!stack.empty()) {
        const node* n = stack.back();
        stack.pop_back();
        if (n->id != 0) {
            (n->locks > 0 ? u.protected_tokens : u.evictable_tokens) += n->tokens.size();
        }
        for (const auto& [k, c] : n->children) {
            stack.push_back(c.get());
        }
    }
    return u;
}

sharing_graph radix_tree::graph(std::size_t max_nodes, const ns_filter& keep) const {
    // How many live requests run through each node (cover its first block).
    std::unordered_map<const node*, std::size_t> through;
    for (const auto& [id, r] : live_) {
        auto it = roots_.find(r.ns);
        if (it == roots_.end()) {
            continue;
        }
        const node* cur = it->second.get();
        std::size_t pos = 0;
        std::span<const token_id> t(r.tokens);
        while (pos + block_size_ <= t.size()) {
            auto c = cur->children.find(key_of(t.subspan(pos, block_size_)));
            if (c == cur->children.end() || common_blocks(c->second.get(), t.subspan(pos)) == 0) {
                break;
            }
            const node* child = c->second.get();
            ++through[child];
            const std::size_t m = common_blocks(child, t.subspan(pos));
            if (m < child->tokens.size()) {
                break;
            }
            pos += m;
            cur = child;
        }
    }
    sharing_graph g;
    std::deque<const node*> queue;
    for (const auto& [ns, r] : roots_) {
        if (keep && !keep(ns)) {
            continue;
        }
        for (const auto& [k, c] : r->children) {
            queue.push_back(c.get());
        }
    }
    while (!queue.empty()) {
        const node* n = queue.front();
        queue.pop_front();
        if (g.nodes.size() >= max_nodes) {
            g.truncated = true;
            break;
        }
        const auto live = through.count(n) ? through.at(n) : 0;
        g.nodes.push_back({node_id(n->id), node_id(n->parent->id), *n->ns, n->tokens.size(),
                           n->depth, n->locks, n->hits, n->last_access, live});
        if (live >= 2) {
            g.convergence.push_back(node_id(n->id));
        }
        for (const auto& [k, c] : n->children) {
            queue.push_back(c.get());
        }
    }
    return g;
}

std::vector<radix_tree::cached_block> radix_tree::dump() const {
    std::vector<cached_block> out;
    std::vector<token_id> prefix;
    auto walk = [&](auto& self, const node* n) -> void {
        const std::size_t base = prefix.size();
        for (std::size_t b = 0; b < n->blocks.size(); ++b) {
            prefix.insert(prefix.end(), n->tokens.begin() + std::ptrdiff_t(b * block_size_),
                          n->tokens.begin() + std::ptrdiff_t((b + 1) * block_size_));
            out.push_back({*n->ns, prefix, n->blocks[b], n->locks});
        }
        for (const auto& [k, c] : n->children) {
            self(self, c.get());
        }
        prefix.resize(base);
    };
    for (const auto& [ns, r] : roots_) {
        for (const auto& [k, c] : r->children) {
            walk(walk, c.get());
        }
    }
    return out;
}

std::string radix_tree::check_invariants() const {
    std::size_t evictable = 0, prot = 0, count = 0;
    std::set<std::pair<std::uint64_t, std::uint64_t>> cands;
    std::string err;
    auto walk = [&](auto& self, const node* n) -> void {
        for (const auto& [k, c] : n->children) {
            const node* ch = c.get();
            ++count;
            if (ch->tokens.empty() || ch->tokens.size() % block_size_ != 0 ||
                ch->blocks.size() * block_size_ != ch->tokens.size()) {
                err = "node " + std::to_string(ch->id) +
                      ": edge is not whole blocks with one id each";
            } else if (ch->parent != n || key_of(ch->tokens) != k) {
                err = "node " + std::to_string(ch->id) + ": wrong parent or child key";
            } else if (ch->depth != n->depth + ch->tokens.size()) {
                err = "node " + std::to_string(ch->id) + ": wrong depth";
            } else if (n->id != 0 && ch->locks > n->locks) {
                err = "node " + std::to_string(ch->id) + ": more locks than its parent";
            } else if (nodes_.count(ch->id) == 0 || nodes_.at(ch->id) != ch) {
                err = "node " + std::to_string(ch->id) + ": missing from the id index";
            }
            (ch->locks > 0 ? prot : evictable) += ch->tokens.size();
            if (ch->children.empty() && ch->locks == 0) {
                cands.insert({ch->last_access, ch->id});
            }
            self(self, ch);
        }
    };
    for (const auto& [ns, r] : roots_) {
        walk(walk, r.get());
    }
    if (!err.empty()) {
        return err;
    }
    if (count != nodes_.size()) {
        return "id index holds " + std::to_string(nodes_.size()) + " nodes, tree " +
               std::to_string(count);
    }
    if (evictable != evictable_tokens_ || prot != protected_tokens_) {
        return "size counters (" + std::to_string(evictable_tokens_) + " evictable, " +
               std::to_string(protected_tokens_) + " protected) disagree with the tree (" +
               std::to_string(evictable) + ", " + std::to_string(prot) + ")";
    }
    if (cands != candidates_) {
        return "eviction candidates disagree with the unlocked leaves";
    }
    return {};
}

} // namespace radixrt::runtime
