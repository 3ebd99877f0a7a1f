#pragma once
// GBNF grammars (llama.cpp's format) parsed into a compiled rule table.
//
// The parser desugars as it reads: a group `( ... )` becomes a synthetic
// rule, `x*` becomes `R ::= x R |`, `x+` is `x R`, `x?` is `R ::= x |`, and
// `x{m,n}` is m copies of x followed by a chain of n - m nested optionals
// (`x (x (x)?)?`), so the matcher sees only three element kinds: a set of
// code points, a reference to a rule, and the end of an alternative.
// Left recursion (also through rules that can match the empty string) is
// rejected with an error naming the rule: the stack-set matcher would loop.
#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace radixrt::runtime {

/// A malformed, undefined, left-recursive or oversized grammar. line and
/// column (1-based, columns in bytes) point at the offending place; 0 when
/// the error concerns the grammar as a whole.
class grammar_error : public std::runtime_error {
  public:
    grammar_error(const std::string& what, std::size_t line, std::size_t column);
    std::size_t line() const { return line_; }
    std::size_t column() const { return column_; }

  private:
    std::size_t line_;
    std::size_t column_;
};

/// Caps on what a (client-supplied) grammar may cost.
struct grammar_limits {
    std::size_t max_source_bytes = 1 << 20;
    std::size_t max_rules = 8192;         ///< named + synthetic rules
    std::size_t max_elements = 1 << 18;   ///< after desugaring repetitions
    std::size_t max_repetition = 1 << 12; ///< largest m or n in {m,n}
};

namespace detail {

enum class elem_kind : std::uint8_t { chars, rule, end };

struct grammar_elem {
    elem_kind kind = elem_kind::end;
    std::uint32_t value = 0; // chars: index into grammar::sets; rule: rule id
};

/// A set of code points: sorted, disjoint, inclusive ranges, plus a bitmap
/// of its ASCII members (the common case on the mask walk's hot path).
struct char_set {
    std::vector<std::pair<char32_t, char32_t>> ranges;
    std::array<std::uint64_t, 2> ascii = {0, 0};

    /// Sorts and merges ranges, complements them over [0, 0x10FFFF] when
    /// negated, drops the surrogates D800..DFFF, and fills the bitmap.
    void normalize(bool negated);
    bool contains(char32_t c) const;
    /// True when some member lies in [lo, hi].
    bool intersects(char32_t lo, char32_t hi) const;
    /// True when every code point of [lo, hi] is a member.
    bool covers(char32_t lo, char32_t hi) const;
};

/// Throws grammar_error when a rule (alternatives of element runs, before
/// layout) can reach itself without reading a character.
void check_left_recursion(const std::vector<std::vector<std::vector<grammar_elem>>>& rules,
                          const std::vector<std::string>& names);

} // namespace detail

/// A compiled grammar: immutable once parsed, shared by every matcher.
class grammar {
  public:
    /// Parses GBNF text whose start rule is `root`. Throws grammar_error.
    static std::shared_ptr<const grammar> parse(std::string_view gbnf,
                                                const grammar_limits& limits = {});

    /// Every alternative of every rule, each a run of elements closed by `end`.
    std::vector<detail::grammar_elem> elems;
    std::vector<std::vector<std::uint32_t>> alternatives; ///< rule id -> start positions
    std::vector<detail::char_set> sets;
    std::vector<std::string> names; ///< rule id -> name (synthetic ones: "name_N")
    std::uint32_t root = 0;
};

} // namespace radixrt::runtime
