#pragma once
// The interpreter's values: a small variant with Python's semantics where
// templates depend on them (truthiness, str(), ==, reference lists/dicts).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace radixrt::jinja {

struct value;
using list = std::vector<value>;
using list_ptr = std::shared_ptr<list>;

/// A dict keeping insertion order (as Python's). Keys are values; lookups
/// compare with ==, which is fine for the small dicts templates build.
struct dict {
    std::vector<std::pair<value, value>> items;
    bool is_namespace = false; ///< namespace(): attributes may be assigned
    const value* find(const value& key) const;
    void set(value key, value v);
};
using dict_ptr = std::shared_ptr<dict>;

struct call_args;
struct callable {
    std::string name;
    std::function<value(call_args&)> fn;
};
using callable_ptr = std::shared_ptr<callable>;

struct undefined_t {
    std::string hint; ///< what was undefined, for error messages ("'foo' is undefined")
};
struct none_t {};

struct value {
    std::variant<undefined_t, none_t, bool, std::int64_t, double, std::string, list_ptr, dict_ptr,
                 callable_ptr>
        v;
    bool is_tuple = false;     ///< a list printed with parentheses
    bool is_generator = false; ///< a lazy sequence in jinja2 (map, select...): iterable only
    /// A markupsafe Markup string (from `safe` or `escape`): `+` with a plain
    /// string escapes the plain one, as Python's Markup does.
    bool is_safe = false;

    value() : v(undefined_t{}) {}
    value(none_t) : v(none_t{}) {}
    value(bool b) : v(b) {}
    value(int i) : v(std::int64_t(i)) {}
    value(std::int64_t i) : v(i) {}
    value(double d) : v(d) {}
    value(std::string s) : v(std::move(s)) {}
    value(const char* s) : v(std::string(s)) {}
    value(list_ptr l) : v(std::move(l)) {}
    value(dict_ptr d) : v(std::move(d)) {}
    value(callable_ptr c) : v(std::move(c)) {}
    static value undefined(std::string hint) { return value(undefined_t{std::move(hint)}); }
    static value make_list(list items = {}) {
        return value(std::make_shared<list>(std::move(items)));
    }
    static value make_dict() { return value(std::make_shared<dict>()); }

    bool is_undefined() const { return std::holds_alternative<undefined_t>(v); }
    bool is_none() const { return std::holds_alternative<none_t>(v); }
    bool is_bool() const { return std::holds_alternative<bool>(v); }
    bool is_int() const { return std::holds_alternative<std::int64_t>(v); }
    bool is_float() const { return std::holds_alternative<double>(v); }
    bool is_number() const { return is_int() || is_float(); } // bool excluded, as jinja2's test
    bool is_string() const { return std::holds_alternative<std::string>(v); }
    bool is_list() const { return std::holds_alternative<list_ptr>(v); }
    bool is_dict() const { return std::holds_alternative<dict_ptr>(v); }
    bool is_callable() const { return std::holds_alternative<callable_ptr>(v); }

    const std::string& str() const { return std::get<std::string>(v); }
    list& as_list() const { return *std::get<list_ptr>(v); }
    dict& as_dict() const { return *std::get<dict_ptr>(v); }
    std::int64_t as_int() const { return std::get<std::int64_t>(v); }
    double as_number() const; ///< int, float or bool as double
    const undefined_t& as_undefined() const { return std::get<undefined_t>(v); }

    bool truthy() const;
    /// Python's type name ("str", "int", "dict", "list", "NoneType"...).
    const char* type_name() const;

  private:
    explicit value(undefined_t u) : v(std::move(u)) {}
};

bool operator==(const value& a, const value& b);

/// Arguments of a call: positional, then keyword.
struct call_args {
    std::vector<value> args;
    std::vector<std::pair<std::string, value>> kwargs;
    /// The argument named `name` or at position `pos` (undefined if absent).
    value get(const std::string& name, std::size_t pos) const;
};

/// Python's str(x) (lists and dicts as their repr).
std::string to_str(const value& x);
/// markupsafe's escape: & < > " ' as HTML entities.
std::string html_escape(std::string_view s);
/// Python's repr(x).
std::string to_repr(const value& x);
/// Python's repr of a float ("1.0", "1e-05", "0.30000000000000004").
std::string float_repr(double d);
/// Number of code points of a UTF-8 string.
std::size_t utf8_length(const std::string& s);

value from_json(const nlohmann::ordered_json& j);
/// json.dumps(x, ensure_ascii=False, indent=indent) with Python's separators;
/// indent < 0: one line. Throws std::runtime_error for values JSON cannot hold.
std::string to_json(const value& x, int indent, bool sort_keys = false);

} // namespace radixrt::jinja
