#pragma once
// Tokens -> statement tree. Throws jinja::error (syntax) with the position.
#include <vector>

#include "jinja/ast.hpp"
#include "jinja/lexer.hpp"

namespace radixrt::jinja::detail {

/// max_depth bounds the nesting of blocks and expressions (and so the
/// parser's and evaluator's recursion).
body parse(const std::vector<token>& tokens, int max_depth);

} // namespace radixrt::jinja::detail
