#pragma once
// Regular expressions -> GBNF: the `pattern` of a JSON Schema string and
// SGLang's `regex` request parameter. Supported: literals, escapes (\d \w
// \s and their negations, \n \t \r \f \v, \xHH, \uHHHH, escaped
// punctuation), `.`, classes [...] / [^...] with ranges, groups ( ) and
// (?: ), named groups, `|`, quantifiers * + ? {m} {m,} {m,n} (lazy `?`
// accepted: same language), ^ at the start and $ at the end. Refused with
// schema_error: backreferences, lookaround, word boundaries, other (?...)
// forms, anchors elsewhere, possessive quantifiers.
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "runtime/grammar.hpp"

namespace radixrt::runtime {

/// A schema or regex feature the converters do not support, or a malformed
/// one. keyword() is the JSON Schema keyword (or "regex") to name in a 400.
class schema_error : public std::invalid_argument {
  public:
    schema_error(std::string keyword, const std::string& what)
        : std::invalid_argument(keyword + ": " + what), keyword_(std::move(keyword)) {}
    const std::string& keyword() const { return keyword_; }
    /// what() without the leading "keyword: ".
    std::string detail() const { return std::string(what()).substr(keyword_.size() + 2); }

  private:
    std::string keyword_;
};

struct regex_options {
    /// Full match (SGLang) or JSON Schema search semantics: an unanchored
    /// side may be preceded / followed by anything.
    bool search = false;
    /// Characters will sit inside a JSON string: '"', '\' and controls
    /// are left out of every set (stricter, never looser).
    bool json_string = false;
    std::string keyword = "regex"; ///< named in errors
};

/// A GBNF expression (one parenthesized group) matching the regex.
std::string regex_to_gbnf(std::string_view regex, const regex_options& options = {});

/// A grammar whose root fully matches the regex.
std::shared_ptr<const grammar> regex_grammar(std::string_view regex);

} // namespace radixrt::runtime
