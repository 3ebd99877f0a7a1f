#pragma once
// The tree-walking evaluator: statements write to an output buffer,
// expressions produce values. Every step counts against a budget; output
// size and macro nesting are capped.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinja/ast.hpp"
#include "jinja/template.hpp"
#include "jinja/value.hpp"

namespace radixrt::jinja::detail {

struct program {
    body root;
};

/// A scope: variables of the template, a loop iteration or a macro call.
struct frame {
    std::vector<std::pair<std::string, value>> vars;
    std::shared_ptr<frame> parent;
    const value* find(const std::string& name) const;
    void set(const std::string& name, value v);
};
using frame_ptr = std::shared_ptr<frame>;

enum class flow { normal, break_, continue_ };

class interpreter {
  public:
    explicit interpreter(const render_options& o) : opt_(o) {}
    std::string run(const program& p, frame_ptr globals);

    const render_options& options() const { return opt_; }
    /// Counts one step; throws error(limit) over the budget.
    void tick();
    /// Throws error(limit) if a string of n bytes would exceed the output cap.
    void check_size(std::size_t n) const;
    /// Calls a callable value (macro, global, bound method).
    value call(const value& fn, call_args& args);

  private:
    flow exec(const body& b, const frame_ptr& f);
    flow exec_one(const stmt& s, const frame_ptr& f);
    flow exec_for(const stmt& s, const frame_ptr& f);
    void exec_set(const stmt& s, const frame_ptr& f);
    value make_macro(const stmt& s, const frame_ptr& f, const std::string& name);
    value call_macro(const stmt& s, const std::weak_ptr<frame>& def, call_args& args,
                     const value& caller);
    void emit(const std::string& s);

    value eval(const expr& e, const frame_ptr& f);
    value eval_inner(const expr& e, const frame_ptr& f);
    value eval_binary(const expr& e, const frame_ptr& f);
    value eval_compare(const expr& e, const frame_ptr& f);
    value eval_slice(const expr& e, const frame_ptr& f);
    call_args eval_args(const expr& e, const frame_ptr& f, std::size_t first);

    const render_options& opt_;
    std::string* out_ = nullptr;
    std::uint64_t steps_ = 0;
    int call_depth_ = 0;
};

// builtins.cpp
value get_attr(const value& obj, const std::string& name);
value get_item(const value& obj, const value& key);
value apply_filter(interpreter& in, const std::string& name, const value& x, call_args& a);
bool apply_test(interpreter& in, const std::string& name, const value& x, const call_args& a);
/// Arithmetic; strings and lists longer than max_bytes are refused.
value binary_op(const std::string& op, const value& a, const value& b, std::size_t max_bytes);
bool contains(const value& haystack, const value& needle);
int compare_values(const value& a, const value& b); ///< -1, 0, 1; throws for unorderable
void install_globals(frame& f, interpreter& in);
/// A bound method of a string, dict or list (undefined if there is none).
value get_method(const value& obj, const std::string& name);
/// Python's %-formatting of a string.
std::string percent_format(const std::string& fmt, const value& args);
/// Throws the undefined error a value carries (for operations on undefined).
[[noreturn]] void fail_undefined(const value& u);
/// Items of an iterable (list, tuple, dict keys, string characters; undefined: none).
list iterate(const value& x);

} // namespace radixrt::jinja::detail
