#include "runtime/grammar_matcher.hpp"

#include <algorithm>
#include <unordered_map>

namespace radixrt::runtime {

namespace detail {

namespace {

// Pushes, for the position pos under frame parent, every stack whose top is
// a character set: rule references open their alternatives, the end of an
// alternative returns to the frame below (or completes root). A reference
// that closes its alternative pushes no return frame (a tail call), so
// `R ::= x R |` runs in constant stack depth.
void expand(const grammar& g, std::vector<stack_node>& pool, std::vector<std::uint32_t>& buf,
            std::uint32_t pos, std::uint32_t parent, bool& accepted) {
    const grammar_elem e = g.elems[pos];
    switch (e.kind) {
    case elem_kind::end:
        if (parent == no_node) {
            accepted = true;
        } else {
            const stack_node up = pool[parent];
            expand(g, pool, buf, up.pos, up.parent, accepted);
        }
        return;
    case elem_kind::chars:
        pool.push_back({pos, parent});
        buf.push_back(std::uint32_t(pool.size() - 1));
        return;
    case elem_kind::rule: {
        std::uint32_t ret = parent;
        if (g.elems[pos + 1].kind != elem_kind::end) {
            pool.push_back({pos + 1, parent});
            ret = std::uint32_t(pool.size() - 1);
        }
        for (std::uint32_t alt : g.alternatives[e.value]) {
            expand(g, pool, buf, alt, ret, accepted);
        }
        return;
    }
    }
}

// Drops stacks equal in (top position, frame below) and checks the cap.
void finish(const std::vector<stack_node>& pool, std::vector<std::uint32_t>& buf, cursor& out) {
    auto first = buf.begin() + out.begin;
    if (buf.end() - first > 1) {
        const auto key = [&](std::uint32_t id) {
            return (std::uint64_t(pool[id].pos) << 32) | pool[id].parent;
        };
        std::sort(first, buf.end(), [&](std::uint32_t a, std::uint32_t b) { return key(a) < key(b); });
        buf.erase(std::unique(first, buf.end(),
                              [&](std::uint32_t a, std::uint32_t b) { return key(a) == key(b); }),
                  buf.end());
    }
    if (buf.size() - out.begin > max_stacks) {
        throw grammar_error("the grammar is too ambiguous: more than " +
                                std::to_string(max_stacks) + " parses are alive at once",
                            0, 0);
    }
    out.end = std::uint32_t(buf.size());
}

bool advance(const grammar& g, std::vector<stack_node>& pool, std::vector<std::uint32_t>& buf,
             const cursor& in, char32_t cp, cursor& out) {
    out = cursor{};
    out.begin = std::uint32_t(buf.size());
    for (std::uint32_t k = in.begin; k < in.end; ++k) {
        const stack_node top = pool[buf[k]];
        if (g.sets[g.elems[top.pos].value].contains(cp)) {
            expand(g, pool, buf, top.pos + 1, top.parent, out.accepted);
        }
    }
    finish(pool, buf, out);
    return out.end > out.begin || out.accepted;
}

} // namespace

cursor start(const grammar& g, std::vector<stack_node>& pool, std::vector<std::uint32_t>& buf) {
    cursor out;
    out.begin = std::uint32_t(buf.size());
    for (std::uint32_t alt : g.alternatives[g.root]) {
        expand(g, pool, buf, alt, no_node, out.accepted);
    }
    finish(pool, buf, out);
    return out;
}

bool step_byte(const grammar& g, std::vector<stack_node>& pool, std::vector<std::uint32_t>& buf,
               const cursor& in, unsigned char byte, cursor& out) {
    std::uint32_t partial = 0;
    std::uint8_t need = 0;
    std::uint8_t len = in.len;
    if (in.need == 0) {
        if (byte < 0x80) {
            return advance(g, pool, buf, in, byte, out);
        }
        need = byte >= 0xC2 && byte <= 0xDF ? 1 : (byte & 0xF0) == 0xE0 ? 2
               : byte >= 0xF0 && byte <= 0xF4 ? 3 : 0;
        if (need == 0) {
            return false; // a continuation byte or an invalid lead byte
        }
        partial = byte & (0x3Fu >> need);
        len = std::uint8_t(need + 1);
    } else {
        if ((byte & 0xC0) != 0x80) {
            return false;
        }
        partial = (in.partial << 6) | (byte & 0x3Fu);
        need = std::uint8_t(in.need - 1);
        if (need == 0) {
            if (!valid_code_point(partial, in.len)) {
                return false;
            }
            return advance(g, pool, buf, in, partial, out);
        }
    }
    // Mid-sequence: keep the stacks, and live only if some top can accept a
    // code point that starts with these bits.
    out = cursor{in.begin, in.end, partial, need, len, in.accepted, in.cls};
    const char32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    const char32_t lo = std::max<char32_t>(partial << (6 * need), min);
    const char32_t hi = std::min<char32_t>(partial << (6 * need) | ((char32_t(1) << (6 * need)) - 1),
                                           0x10FFFF);
    if (lo > hi) {
        return false;
    }
    for (std::uint32_t k = in.begin; k < in.end; ++k) {
        if (g.sets[g.elems[pool[buf[k]].pos].value].intersects(lo, hi)) {
            return true;
        }
    }
    return false;
}

} // namespace detail

grammar_matcher::grammar_matcher(std::shared_ptr<const grammar> g) : grammar_(std::move(g)) {
    state_ = detail::start(*grammar_, pool_, buf_);
}

bool grammar_matcher::accept_bytes(std::string_view bytes) {
    const auto saved = state_;
    const std::size_t pool_size = pool_.size();
    const std::size_t buf_size = buf_.size();
    std::vector<detail::stack_node> saved_pool; // taken before a mid-call compaction
    std::vector<std::uint32_t> saved_buf;
    bool compacted = false;
    detail::cursor next;
    for (char c : bytes) {
        if (!detail::step_byte(*grammar_, pool_, buf_, state_, static_cast<unsigned char>(c),
                               next)) {
            if (compacted) {
                pool_ = std::move(saved_pool);
                buf_ = std::move(saved_buf);
            }
            state_ = saved;
            pool_.resize(pool_size);
            buf_.resize(buf_size);
            return false;
        }
        state_ = next;
        // Many stacks: merge the ones equal in content (distinct derivations
        // build equal frames under different ids), or an ambiguous grammar
        // multiplies them with every byte.
        if (state_.need == 0 && state_.end - state_.begin > 64) {
            if (!compacted) {
                saved_pool = pool_;
                saved_buf = buf_;
                compacted = true;
            }
            compact();
        }
    }
    // Keep only the live slice at the front of the buffer.
    if (state_.begin > 0) {
        buf_.erase(buf_.begin(), buf_.begin() + state_.begin);
        buf_.resize(state_.end - state_.begin);
        state_.end -= state_.begin;
        state_.begin = 0;
    }
    if (pool_.size() > compact_at_) {
        compact();
    }
    return true;
}

// Copies the frames reachable from the live stacks into a fresh pool,
// sharing frames equal in content, and drops duplicate stacks.
void grammar_matcher::compact() {
    std::vector<detail::stack_node> fresh;
    std::vector<std::uint32_t> map(pool_.size(), detail::no_node);
    std::unordered_map<std::uint64_t, std::uint32_t> canon; // (pos, new parent) -> new id
    std::vector<std::uint32_t> chain;
    for (std::uint32_t k = state_.begin; k < state_.end; ++k) {
        chain.clear();
        for (std::uint32_t id = buf_[k]; id != detail::no_node && map[id] == detail::no_node;
             id = pool_[id].parent) {
            chain.push_back(id);
        }
        for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
            const auto parent = pool_[*it].parent;
            const detail::stack_node n{pool_[*it].pos,
                                       parent == detail::no_node ? parent : map[parent]};
            const auto [at, fresh_node] =
                canon.try_emplace((std::uint64_t(n.pos) << 32) | n.parent, std::uint32_t(fresh.size()));
            if (fresh_node) {
                fresh.push_back(n);
            }
            map[*it] = at->second;
        }
        buf_[k] = map[buf_[k]];
    }
    pool_ = std::move(fresh);
    std::vector<std::uint32_t> tops(buf_.begin() + state_.begin, buf_.begin() + state_.end);
    std::sort(tops.begin(), tops.end(), [&](std::uint32_t a, std::uint32_t b) {
        return pool_[a].pos != pool_[b].pos ? pool_[a].pos < pool_[b].pos : pool_[a].parent < pool_[b].parent;
    });
    tops.erase(std::unique(tops.begin(), tops.end()), tops.end());
    buf_ = std::move(tops);
    state_.begin = 0;
    state_.end = std::uint32_t(buf_.size());
    compact_at_ = std::max<std::size_t>(4096, 4 * pool_.size());
}

} // namespace radixrt::runtime
