#pragma once
// Template text -> tokens, with jinja2's whitespace rules as Hugging Face
// configures them: trim_blocks and lstrip_blocks on, `-` and `+` markers.
#include <string>
#include <string_view>
#include <vector>

namespace radixrt::jinja::detail {

enum class tok {
    text,        // literal output
    var_begin,   // {{
    var_end,     // }}
    block_begin, // {%
    block_end,   // %}
    name,
    string,
    integer,
    floating,
    op, // operators and punctuation
    eof
};

struct token {
    tok kind;
    std::string text; // the string's value, the name, the operator, the digits
    int line = 1, column = 1;
};

struct lexer_options {
    bool trim_blocks = true;
    bool lstrip_blocks = true;
};

/// Throws jinja::error (syntax) with the position of the problem.
std::vector<token> tokenize(std::string_view src, const lexer_options& opt);

} // namespace radixrt::jinja::detail
