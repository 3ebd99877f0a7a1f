#pragma once
// Incremental recognizer for a compiled grammar, fed bytes of UTF-8.
//
// Why stack sets (as llama.cpp does) rather than Earley: the grammars we
// serve (JSON schemas, regexes, tool formats) are nearly deterministic, so
// the set holds a handful of stacks; a step is "advance every stack whose
// top accepts the code point, then expand rule references until every top
// is a character set", with no chart to keep. Stacks are persistent linked
// lists in a node pool, so a step shares the unchanged tails and the mask
// walk (runtime/grammar_mask.hpp) can undo a step by truncating the pool.
// The price: left recursion is refused (the parser checks), and a very
// ambiguous grammar can grow the set, which is capped (max_stacks).
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "runtime/grammar.hpp"

namespace radixrt::runtime {

namespace detail {

inline constexpr std::uint32_t no_node = 0xFFFFFFFFu;
inline constexpr std::size_t max_stacks = 4096;

/// One frame: the element a stack waits at (a character set on the top
/// frame, a return position below), and the frame under it.
struct stack_node {
    std::uint32_t pos;
    std::uint32_t parent;
};

/// A matcher state as a slice [begin, end) of a buffer of top-node ids,
/// plus the UTF-8 sequence in progress.
struct cursor {
    std::uint32_t begin = 0, end = 0;
    std::uint32_t partial = 0; // bits of the code point read so far
    std::uint8_t need = 0;     // continuation bytes still expected
    std::uint8_t len = 0;      // length of the sequence in progress
    bool accepted = false;     // root matched by the last complete code point
    std::uint32_t cls = no_node; // mask walk only: the loop class (grammar_mask.cpp)
};

/// Reads one byte: appends the successor stacks (if a code point completes)
/// to buf and nodes to pool. Returns false when the state dies. Throws
/// grammar_error when the stack set exceeds max_stacks.
bool step_byte(const grammar& g, std::vector<stack_node>& pool, std::vector<std::uint32_t>& buf,
               const cursor& in, unsigned char byte, cursor& out);

/// A complete sequence of len bytes decodes to cp: no overlong form, no
/// surrogate, nothing above U+10FFFF.
inline bool valid_code_point(char32_t cp, unsigned len) {
    const char32_t min = len <= 1 ? 0 : len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    return cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
}

/// The start state: root's alternatives expanded.
cursor start(const grammar& g, std::vector<stack_node>& pool, std::vector<std::uint32_t>& buf);

} // namespace detail

/// The grammar state of one generation. Copying is cheap (a few small
/// vectors: the pool is compacted as it grows), which is what n > 1 and a
/// rebuild from already generated tokens need.
class grammar_matcher {
  public:
    explicit grammar_matcher(std::shared_ptr<const grammar> g);

    /// Advances over bytes (any split of UTF-8, also mid-code-point). On a
    /// mismatch returns false and leaves the state as it was.
    bool accept_bytes(std::string_view bytes);
    /// The bytes so far form a complete sentence of root: decoding may stop.
    /// (Mid-code-point the last flag is kept but does not count.)
    bool is_complete() const { return state_.accepted && state_.need == 0; }
    /// Some non-empty continuation is still possible.
    bool can_continue() const { return state_.end > state_.begin; }

    const grammar& rules() const { return *grammar_; }
    const std::shared_ptr<const grammar>& rules_ptr() const { return grammar_; }
    /// For the mask walk: the pool, the stack buffer and the current slice.
    const std::vector<detail::stack_node>& pool() const { return pool_; }
    const std::vector<std::uint32_t>& stacks() const { return buf_; }
    const detail::cursor& state() const { return state_; }

  private:
    void compact();

    std::shared_ptr<const grammar> grammar_;
    std::vector<detail::stack_node> pool_;
    std::vector<std::uint32_t> buf_;
    detail::cursor state_;
    std::size_t compact_at_ = 4096;
};

} // namespace radixrt::runtime
