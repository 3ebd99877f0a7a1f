#pragma once
// The syntax tree: one expression struct and one statement struct, each
// with a kind and the fields the kinds use (a short tagged layout keeps the
// parser and evaluator simple; templates are small).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinja/value.hpp"

namespace radixrt::jinja::detail {

struct expr;
using expr_ptr = std::unique_ptr<expr>;

enum class ekind {
    literal,   // lit
    name,      // name
    list,      // kids
    tuple,     // kids
    dict,      // kids: key, value, key, value...
    attr,      // kids[0].name
    subscript, // kids[0][kids[1]]
    slice,     // kids[0][kids[1]:kids[2]:kids[3]] (null kids are omitted bounds)
    call,      // kids[0](kids[1..], kwargs)
    filter,    // kids[0] | name(kids[1..], kwargs)
    test,      // kids[0] is [not] name(kids[1..])
    unary,     // op kids[0]: "-", "+", "not"
    binary,    // kids[0] op kids[1]: arithmetic, "~", "in", "not in", "and", "or"
    compare,   // kids[0] ops[0] kids[1] ops[1] kids[2]...
    cond,      // kids[0] if kids[1] else kids[2] (kids[2] may be null)
};

struct expr {
    ekind kind;
    int line = 0, column = 0;
    value lit;
    std::string name;     // name, attribute, filter, test, operator
    bool negated = false; // `is not`
    std::vector<expr_ptr> kids;
    std::vector<std::pair<std::string, expr_ptr>> kwargs;
    std::vector<std::string> ops; // compare
};

struct stmt;
using stmt_ptr = std::unique_ptr<stmt>;
using body = std::vector<stmt_ptr>;

enum class skind {
    text,       // text
    output,     // {{ e }}
    if_,        // branches (a null condition is else)
    for_,       // targets in e (if cond) body; else_body
    set,        // targets (or attr target "ns.x" in name/attr) = e
    set_block,  // {% set targets %} body {% endset %}
    macro,      // name(params) body
    call_block, // {% call(params) e %} body {% endcall %}
    break_,
    continue_,
    generation, // body (rendered as is)
};

struct stmt {
    skind kind;
    int line = 0, column = 0;
    std::string text;
    expr_ptr e, cond;
    std::vector<std::string> targets;
    std::string attr; // set ns.attr
    body children, else_body;
    std::vector<std::pair<expr_ptr, body>> branches;
    std::vector<std::pair<std::string, expr_ptr>> params; // macro/call params with defaults
};

} // namespace radixrt::jinja::detail
