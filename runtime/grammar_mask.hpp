#pragma once
// Which tokens a grammar state allows. The vocabulary becomes, once per
// tokenizer, a byte trie laid out in pre-order (each node knows where its
// subtree ends); the mask walks it depth-first, stepping a copy of the
// matcher state one byte per node, and skips a whole subtree as soon as the
// state dies. Steps only append to scratch buffers, so going back up the
// trie is a truncation: no state is ever copied on the walk.
//
// Inside a JSON string nearly every token is allowed, and stepping the
// state for each of the ~500k trie nodes of a 150k vocabulary costs more
// than a decode step. But there the state is a fixed point: reading a plain
// character (or completing a multi-byte one) gives back the same stacks. So
// each state seen on a walk gets a loop class that remembers which ASCII
// bytes loop; a looping byte then costs a bit test and a cursor copy, and a
// big subtree whose bytes all loop (the trie keeps a summary of the bytes
// below each big node) is allowed whole without visiting it.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/grammar_matcher.hpp"
#include "runtime/tokenizer.hpp"

namespace radixrt::runtime {

/// The vocabulary as a byte trie. Immutable after construction: share one
/// per tokenizer between all requests and threads.
class token_trie {
  public:
    /// bytes[id] is what token id stands for; an empty string marks a token
    /// that is never allowed (control, unused, unknown). end_ids (EOS and
    /// other end-of-generation tokens) are allowed exactly when the grammar
    /// is complete.
    token_trie(std::vector<std::string> bytes, std::vector<token_id> end_ids);
    /// Pieces of normal, byte (<0xHH>) and user-defined tokens; the
    /// tokenizer's end-of-generation ids as end_ids.
    static std::shared_ptr<const token_trie> from_tokenizer(const tokenizer& tok);

    std::size_t vocab_size() const { return bytes_.size(); }
    const std::string& bytes(token_id id) const { return bytes_[std::size_t(id)]; }
    bool is_end(token_id id) const;
    const std::vector<token_id>& end_ids() const { return end_ids_; }

    struct node {
        std::uint32_t skip;      // index just past this node's subtree
        std::uint32_t tok_begin; // tokens ending here: ids_[tok_begin, tok_end)
        std::uint32_t tok_end;
        std::uint16_t depth;
        unsigned char byte;
        std::uint32_t summary = 0xFFFFFFFFu; // index into summaries(), for big subtrees
    };
    /// What lies below a node (its descendants' bytes), for skipping a
    /// whole subtree when the state loops on all of it.
    struct subtree_summary {
        std::array<std::uint64_t, 2> ascii = {0, 0}; // ASCII bytes below
        bool wide = false;    // some byte >= 0x80 below
        bool utf8_ok = false; // every suffix below is valid UTF-8 (maybe cut short)
        std::uint32_t tok_end = 0; // tokens of the subtree: ids_[node.tok_begin, tok_end)
    };
    const std::vector<subtree_summary>& summaries() const { return summaries_; }
    const std::vector<node>& nodes() const { return nodes_; }
    const std::vector<token_id>& ids() const { return ids_; }
    std::size_t max_depth() const { return max_depth_; }

  private:
    std::vector<std::string> bytes_;
    std::vector<token_id> end_ids_; // sorted
    std::vector<node> nodes_;       // nodes_[0] is the root (the empty prefix)
    std::vector<token_id> ids_;
    std::vector<subtree_summary> summaries_;
    std::size_t max_depth_ = 0;

    void summarize();
};

/// A set of token ids, one bit each.
struct token_mask {
    std::vector<std::uint64_t> words;
    void reset(std::size_t n) { words.assign((n + 63) / 64, 0); }
    void set(std::size_t id) { words[id >> 6] |= std::uint64_t(1) << (id & 63); }
    bool test(std::size_t id) const {
        return (id >> 6) < words.size() && ((words[id >> 6] >> (id & 63)) & 1);
    }
    std::size_t count() const;
};

/// Reusable buffers of the walk (keep one per request to avoid allocation).
struct mask_scratch {
    std::vector<detail::stack_node> pool;
    std::vector<std::uint32_t> buf;
    std::vector<detail::cursor> cursors;                   // by trie depth
    std::vector<std::pair<std::size_t, std::size_t>> marks; // (pool, buf) sizes by depth
    // Per loop class: ASCII bytes known to lead back to the same state, and
    // bytes known not to.
    std::vector<std::array<std::uint64_t, 2>> loops, not_loops;
    std::vector<std::uint8_t> wide_loops; // every non-ASCII code point loops: 0 unknown, 1 yes, 2 no
};

/// Fills mask (resized to the vocabulary) with the tokens whose bytes the
/// matcher accepts from its current state, plus the end ids when it is
/// complete. Equal to trying accept_bytes on a copy for every token.
void fill_token_mask(const grammar_matcher& m, const token_trie& trie, token_mask& mask,
                     mask_scratch& scratch);

} // namespace radixrt::runtime
