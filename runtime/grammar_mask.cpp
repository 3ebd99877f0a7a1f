#include "runtime/grammar_mask.hpp"

#include <algorithm>
#include <bit>
#include <numeric>

namespace radixrt::runtime {

token_trie::token_trie(std::vector<std::string> bytes, std::vector<token_id> end_ids)
    : bytes_(std::move(bytes)), end_ids_(std::move(end_ids)) {
    std::sort(end_ids_.begin(), end_ids_.end());
    end_ids_.erase(std::unique(end_ids_.begin(), end_ids_.end()), end_ids_.end());
    std::vector<token_id> order;
    for (std::size_t id = 0; id < bytes_.size(); ++id) {
        if (!bytes_[id].empty() && bytes_[id].size() < 0xFFFF && !is_end(token_id(id))) {
            order.push_back(token_id(id));
        }
    }
    std::sort(order.begin(), order.end(),
              [&](token_id a, token_id b) { return bytes_[std::size_t(a)] < bytes_[std::size_t(b)]; });
    // Sorted insertion: each token shares its longest common prefix with the
    // previous one; nodes deeper than that prefix are complete (their skip
    // index is known) and new nodes follow in pre-order.
    nodes_.push_back({0, 0, 0, 0, 0});
    std::vector<std::uint32_t> path{0}; // path[d]: the open node at depth d
    std::string_view prev;
    for (token_id id : order) {
        const std::string_view s = bytes_[std::size_t(id)];
        std::size_t lcp = 0;
        while (lcp < s.size() && lcp < prev.size() && s[lcp] == prev[lcp]) {
            ++lcp;
        }
        while (path.size() - 1 > lcp) {
            nodes_[path.back()].skip = std::uint32_t(nodes_.size());
            path.pop_back();
        }
        for (std::size_t j = lcp; j < s.size(); ++j) {
            const auto at = std::uint32_t(ids_.size());
            nodes_.push_back({0, at, at, std::uint16_t(j + 1), static_cast<unsigned char>(s[j])});
            path.push_back(std::uint32_t(nodes_.size() - 1));
        }
        max_depth_ = std::max(max_depth_, s.size());
        node& n = nodes_[path.back()];
        if (n.tok_begin == n.tok_end) {
            n.tok_begin = std::uint32_t(ids_.size());
        }
        ids_.push_back(id);
        n.tok_end = std::uint32_t(ids_.size());
        prev = s;
    }
    for (auto idx : path) {
        nodes_[idx].skip = std::uint32_t(nodes_.size());
    }
    summarize();
}

namespace {

// UTF-8 decoding against the set of all scalar values: what a state that
// accepts any character would allow.
struct utf8_reader {
    std::uint32_t partial = 0;
    std::uint8_t need = 0, len = 0;

    bool step(unsigned char b) {
        if (need == 0) {
            if (b < 0x80) {
                return true;
            }
            need = b >= 0xC2 && b <= 0xDF ? 1 : (b & 0xF0) == 0xE0 ? 2 : b >= 0xF0 && b <= 0xF4 ? 3 : 0;
            if (need == 0) {
                return false;
            }
            partial = b & (0x3Fu >> need);
            len = std::uint8_t(need + 1);
        } else {
            if ((b & 0xC0) != 0x80) {
                return false;
            }
            partial = (partial << 6) | (b & 0x3Fu);
            if (--need == 0) {
                return detail::valid_code_point(partial, len);
            }
        }
        const char32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
        const char32_t lo = std::max<char32_t>(partial << (6 * need), min);
        const char32_t hi = std::min<char32_t>(partial << (6 * need) | ((char32_t(1) << (6 * need)) - 1), 0x10FFFF);
        return lo <= hi && !(lo >= 0xD800 && hi <= 0xDFFF);
    }
};

} // namespace

void token_trie::summarize() {
    constexpr std::uint32_t big = 32; // nodes in a subtree worth a summary
    std::vector<utf8_reader> readers(max_depth_ + 1);
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i].skip - i < big) {
            continue;
        }
        subtree_summary sum;
        sum.utf8_ok = true;
        sum.tok_end = nodes_[i].skip < nodes_.size() ? nodes_[nodes_[i].skip].tok_begin
                                                     : std::uint32_t(ids_.size());
        readers[0] = {};
        for (std::size_t j = i + 1; j < nodes_[i].skip; ++j) {
            const unsigned char b = nodes_[j].byte;
            const std::size_t d = nodes_[j].depth - nodes_[i].depth;
            if (b < 0x80) {
                sum.ascii[b >> 6] |= std::uint64_t(1) << (b & 63);
            } else {
                sum.wide = true;
            }
            readers[d] = readers[d - 1];
            sum.utf8_ok = readers[d].step(b) && sum.utf8_ok;
        }
        nodes_[i].summary = std::uint32_t(summaries_.size());
        summaries_.push_back(sum);
    }
}

bool token_trie::is_end(token_id id) const {
    return std::binary_search(end_ids_.begin(), end_ids_.end(), id);
}

std::shared_ptr<const token_trie> token_trie::from_tokenizer(const tokenizer& tok) {
    std::vector<std::string> bytes(tok.vocab_size());
    std::vector<token_id> ends;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const auto id = token_id(i);
        if (tok.is_eog(id)) {
            ends.push_back(id);
            continue;
        }
        const auto k = tok.kind(id);
        if (k == token_kind::normal || k == token_kind::byte || k == token_kind::user_defined) {
            bytes[i] = tok.piece(id);
        }
    }
    return std::make_shared<const token_trie>(std::move(bytes), std::move(ends));
}

std::size_t token_mask::count() const {
    std::size_t n = 0;
    for (auto w : words) {
        n += std::size_t(std::popcount(w));
    }
    return n;
}

namespace {

// The same stacks, in the same order, and the same completion flag.
bool same_state(const std::vector<detail::stack_node>& pool, const std::vector<std::uint32_t>& buf,
                const detail::cursor& a, const detail::cursor& b) {
    if (a.end - a.begin != b.end - b.begin || a.accepted != b.accepted) {
        return false;
    }
    for (std::uint32_t k = 0; k < a.end - a.begin; ++k) {
        // Frames pushed anew can equal old ones: compare down to a shared frame.
        for (std::uint32_t x = buf[a.begin + k], y = buf[b.begin + k]; x != y;) {
            if (x == detail::no_node || y == detail::no_node || pool[x].pos != pool[y].pos) {
                return false;
            }
            x = pool[x].parent;
            y = pool[y].parent;
        }
    }
    return true;
}

// Every top's set holds all non-ASCII scalar values or none of them: then
// all non-ASCII code points lead where one does.
bool wide_uniform(const grammar& g, const mask_scratch& s, const detail::cursor& c) {
    for (std::uint32_t k = c.begin; k < c.end; ++k) {
        const auto& set = g.sets[g.elems[s.pool[s.buf[k]].pos].value];
        const bool any = set.intersects(0x80, 0x10FFFF);
        const bool all = set.covers(0x80, 0xD7FF) && set.covers(0xE000, 0x10FFFF);
        if (any != all) {
            return false;
        }
    }
    return true;
}

bool has(const std::array<std::uint64_t, 2>& bits, unsigned b) { return (bits[b >> 6] >> (b & 63)) & 1; }
void put(std::array<std::uint64_t, 2>& bits, unsigned b) { bits[b >> 6] |= std::uint64_t(1) << (b & 63); }

// One trie edge: parent --byte--> out. Returns false when the state dies.
// Uses and fills the loop classes (see the header).
bool walk_step(const grammar& g, mask_scratch& s, std::size_t d, unsigned char byte) {
    detail::cursor& parent = s.cursors[d - 1];
    detail::cursor& out = s.cursors[d];
    const bool ascii = parent.need == 0 && byte < 0x80;
    const bool completes = parent.need == 1 && (byte & 0xC0) == 0x80;
    if (ascii || completes) {
        if (parent.cls == detail::no_node) {
            parent.cls = std::uint32_t(s.loops.size());
            s.loops.push_back({0, 0});
            s.not_loops.push_back({0, 0});
            s.wide_loops.push_back(0);
        }
        if (completes && s.wide_loops[parent.cls] == 1) {
            const char32_t cp = (parent.partial << 6) | (byte & 0x3Fu);
            if (!detail::valid_code_point(cp, parent.len)) {
                return false;
            }
            out = parent;
            out.partial = 0;
            out.need = 0;
            return true;
        }
        if (ascii && has(s.loops[parent.cls], byte)) {
            out = parent;
            return true;
        }
        if (ascii && has(s.not_loops[parent.cls], byte)) {
            return detail::step_byte(g, s.pool, s.buf, parent, byte, out);
        }
        const auto cls = parent.cls;
        if (!detail::step_byte(g, s.pool, s.buf, parent, byte, out)) {
            return false;
        }
        // A completed code point compares with the state before its lead
        // byte: a partial cursor keeps that state's slice, flag and class.
        if (out.need == 0 && same_state(s.pool, s.buf, parent, out)) {
            s.pool.resize(s.marks[d - 1].first);
            s.buf.resize(s.marks[d - 1].second);
            out = parent;
            out.partial = 0;
            out.need = 0;
            if (ascii) {
                put(s.loops[cls], byte);
            } else {
                s.wide_loops[cls] = wide_uniform(g, s, out) ? 1 : 2;
            }
            return true;
        }
        out.cls = detail::no_node;
        if (ascii) {
            put(s.not_loops[cls], byte);
        }
        return true;
    }
    if (!detail::step_byte(g, s.pool, s.buf, parent, byte, out)) {
        return false;
    }
    if (out.need == 0) {
        out.cls = detail::no_node;
    }
    return true;
}

std::uint32_t ensure_class(mask_scratch& s, detail::cursor& c) {
    if (c.cls == detail::no_node) {
        c.cls = std::uint32_t(s.loops.size());
        s.loops.push_back({0, 0});
        s.not_loops.push_back({0, 0});
        s.wide_loops.push_back(0);
    }
    return c.cls;
}

// Whether the state at depth d comes back to itself on every byte below a
// node, learning unknown bytes by trial steps (undone at once).
bool loops_over(const grammar& g, mask_scratch& s, std::size_t d,
                const token_trie::subtree_summary& sum) {
    detail::cursor& c = s.cursors[d];
    if (c.need != 0 || (sum.wide && !sum.utf8_ok)) {
        return false;
    }
    const auto cls = ensure_class(s, c);
    if ((sum.ascii[0] & s.not_loops[cls][0]) || (sum.ascii[1] & s.not_loops[cls][1]) ||
        (sum.wide && s.wide_loops[cls] == 2)) {
        return false;
    }
    const auto undo = [&] {
        s.pool.resize(s.marks[d].first);
        s.buf.resize(s.marks[d].second);
    };
    detail::cursor t1, t2;
    for (unsigned w = 0; w < 2; ++w) {
        for (std::uint64_t unknown = sum.ascii[w] & ~s.loops[cls][w]; unknown != 0; unknown &= unknown - 1) {
            const unsigned b = w * 64 + unsigned(std::countr_zero(unknown));
            const bool loop = detail::step_byte(g, s.pool, s.buf, c, static_cast<unsigned char>(b), t1) &&
                              same_state(s.pool, s.buf, c, t1);
            undo();
            put(loop ? s.loops[cls] : s.not_loops[cls], b);
            if (!loop) {
                return false;
            }
        }
    }
    if (sum.wide && s.wide_loops[cls] == 0) {
        const bool loop = detail::step_byte(g, s.pool, s.buf, c, 0xC3, t1) &&
                          detail::step_byte(g, s.pool, s.buf, t1, 0xA9, t2) && // U+00E9
                          same_state(s.pool, s.buf, c, t2) && wide_uniform(g, s, c);
        undo();
        s.wide_loops[cls] = loop ? 1 : 2;
    }
    return !sum.wide || s.wide_loops[cls] == 1;
}

} // namespace

void fill_token_mask(const grammar_matcher& m, const token_trie& trie, token_mask& mask,
                     mask_scratch& s) {
    mask.reset(trie.vocab_size());
    if (m.is_complete()) {
        for (token_id id : trie.end_ids()) {
            if (std::size_t(id) < trie.vocab_size()) {
                mask.set(std::size_t(id));
            }
        }
    }
    if (!m.can_continue()) {
        return;
    }
    const grammar& g = m.rules();
    const auto& st = m.state();
    s.pool = m.pool();
    s.buf.assign(m.stacks().begin() + st.begin, m.stacks().begin() + st.end);
    s.cursors.resize(trie.max_depth() + 1);
    s.marks.resize(trie.max_depth() + 1);
    s.loops.clear();
    s.not_loops.clear();
    s.wide_loops.clear();
    s.cursors[0] = st;
    s.cursors[0].cls = detail::no_node;
    s.cursors[0].begin = 0;
    s.cursors[0].end = std::uint32_t(s.buf.size());
    s.marks[0] = {s.pool.size(), s.buf.size()};
    const auto& nodes = trie.nodes();
    const auto& ids = trie.ids();
    for (std::size_t i = 1; i < nodes.size();) {
        const auto& nd = nodes[i];
        const std::size_t d = nd.depth;
        s.pool.resize(s.marks[d - 1].first);
        s.buf.resize(s.marks[d - 1].second);
        if (!walk_step(g, s, d, nd.byte)) {
            i = nd.skip;
            continue;
        }
        s.marks[d] = {s.pool.size(), s.buf.size()};
        std::uint32_t tok_end = nd.tok_end;
        std::size_t next = i + 1;
        if (nd.summary != 0xFFFFFFFFu && loops_over(g, s, d, trie.summaries()[nd.summary])) {
            tok_end = trie.summaries()[nd.summary].tok_end; // the whole subtree
            next = nd.skip;
        }
        for (std::uint32_t t = nd.tok_begin; t < tok_end; ++t) {
            mask.set(std::size_t(ids[t]));
        }
        i = next;
    }
}

} // namespace radixrt::runtime
