// Operators, attribute and item access, tests and global functions, with
// Python's semantics (and jinja2's error messages where templates show them).
#include <algorithm>
#include <cmath>
#include <ctime>

#include "jinja/error.hpp"
#include "jinja/interpreter.hpp"

namespace radixrt::jinja::detail {

namespace {

[[noreturn]] void type_error(const std::string& m) {
    throw error(error_kind::runtime, m);
}

std::string q(const value& v) {
    return std::string("'") + v.type_name() + "'";
}

} // namespace

[[noreturn]] void fail_undefined(const value& u) {
    throw error(error_kind::runtime, u.is_undefined() && !u.as_undefined().hint.empty()
                                         ? u.as_undefined().hint
                                         : "value is undefined");
}

list iterate(const value& x) {
    if (x.is_list()) {
        return x.as_list(); // a copy: a generator's items become a plain list
    }
    if (x.is_dict()) {
        list keys;
        for (const auto& [k, v] : x.as_dict().items) {
            keys.push_back(k);
        }
        return keys;
    }
    if (x.is_string()) {
        list chars;
        const std::string& s = x.str();
        for (std::size_t i = 0; i < s.size();) {
            std::size_t n = 1;
            while (i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80) {
                ++n;
            }
            chars.emplace_back(s.substr(i, n));
            i += n;
        }
        return chars;
    }
    if (x.is_undefined()) {
        return {};
    }
    type_error(q(x) + " object is not iterable");
}

value get_item(const value& obj, const value& key) {
    if (obj.is_undefined()) {
        fail_undefined(obj);
    }
    const std::string miss =
        "'" + std::string(obj.type_name()) + " object' has no attribute '" + to_str(key) + "'";
    if (obj.is_dict()) {
        if (const value* v = obj.as_dict().find(key)) {
            return *v;
        }
        if (key.is_string()) {
            value m = get_method(obj, key.str());
            if (!m.is_undefined()) {
                return m;
            }
        }
        return value::undefined(miss);
    }
    if (obj.is_generator) {
        type_error("'generator' object is not subscriptable");
    }
    if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
        const list chars = obj.is_string() ? iterate(obj) : list{};
        const list& l = obj.is_string() ? chars : obj.as_list();
        std::int64_t i = key.is_int() ? key.as_int() : std::int64_t(key.truthy());
        if (i < 0) {
            i += std::int64_t(l.size());
        }
        if (i < 0 || i >= std::int64_t(l.size())) {
            return value::undefined(std::string(obj.type_name()) + " index out of range");
        }
        return l[std::size_t(i)];
    }
    if (key.is_string()) {
        return get_attr(obj, key.str());
    }
    return value::undefined(miss);
}

value get_attr(const value& obj, const std::string& name) {
    if (obj.is_undefined()) {
        fail_undefined(obj);
    }
    if (obj.is_dict() && obj.as_dict().is_namespace) {
        const value* v = obj.as_dict().find(value(name));
        return v != nullptr
                   ? *v
                   : value::undefined("'Namespace object' has no attribute '" + name + "'");
    }
    value m = get_method(obj, name);
    if (!m.is_undefined()) {
        return m;
    }
    if (obj.is_dict()) {
        if (const value* v = obj.as_dict().find(value(name))) {
            return *v;
        }
    }
    if (obj.is_none()) {
        return value::undefined("'None' has no attribute '" + name + "'");
    }
    return value::undefined("'" + std::string(obj.type_name()) + " object' has no attribute '" +
                            name + "'");
}

namespace {

value arith_int(const std::string& op, std::int64_t a, std::int64_t b) {
    std::int64_t r = 0;
    bool overflow = false;
    if (op == "+") {
        overflow = __builtin_add_overflow(a, b, &r);
    } else if (op == "-") {
        overflow = __builtin_sub_overflow(a, b, &r);
    } else if (op == "*") {
        overflow = __builtin_mul_overflow(a, b, &r);
    } else if (op == "/") {
        if (b == 0) {
            type_error("division by zero");
        }
        return value(double(a) / double(b));
    } else if (op == "//" || op == "%") {
        if (b == 0) {
            type_error(op == "%" ? "integer modulo by zero" : "integer division or modulo by zero");
        }
        if (a == INT64_MIN && b == -1) {
            overflow = true;
        } else {
            std::int64_t d = a / b, m = a % b;
            if (m != 0 && ((m < 0) != (b < 0))) { // floor, as Python
                d -= 1;
                m += b;
            }
            r = op == "//" ? d : m;
        }
    } else if (op == "**") {
        if (b < 0) {
            return value(std::pow(double(a), double(b)));
        }
        r = 1;
        for (std::int64_t i = 0; i < b && !overflow; ++i) {
            overflow = __builtin_mul_overflow(r, a, &r);
            if (r == 0 || r == 1) {
                break;
            }
        }
    }
    if (overflow) {
        type_error("integer overflow in '" + op + "'");
    }
    return value(r);
}

value arith_float(const std::string& op, double a, double b) {
    if (op == "+") {
        return value(a + b);
    }
    if (op == "-") {
        return value(a - b);
    }
    if (op == "*") {
        return value(a * b);
    }
    if (op == "**") {
        return value(std::pow(a, b));
    }
    if (b == 0) {
        type_error("float division by zero");
    }
    if (op == "/") {
        return value(a / b);
    }
    const double m = std::fmod(a, b);
    const double mod = (m != 0 && ((m < 0) != (b < 0))) ? m + b : m;
    return op == "%" ? value(mod) : value(std::floor(a / b));
}

value repeat(const value& seq, std::int64_t n, std::size_t max_bytes) {
    n = std::max<std::int64_t>(n, 0);
    const std::size_t unit =
        seq.is_string() ? seq.str().size() : seq.as_list().size() * sizeof(value);
    if (unit == 0 || n == 0) {
        // nothing to repeat: no loop of n empty appends (n may be huge)
        return seq.is_string() ? value(std::string()) : value::make_list(list{});
    }
    if (std::uint64_t(n) > max_bytes / unit) {
        throw error(error_kind::limit, "a repeated sequence would exceed the output cap");
    }
    if (seq.is_string()) {
        std::string s;
        for (std::int64_t i = 0; i < n; ++i) {
            s += seq.str();
        }
        return value(std::move(s));
    }
    list l;
    for (std::int64_t i = 0; i < n; ++i) {
        l.insert(l.end(), seq.as_list().begin(), seq.as_list().end());
    }
    return value::make_list(std::move(l));
}

bool is_num(const value& v) {
    return v.is_number() || v.is_bool();
}

} // namespace

value binary_op(const std::string& op, const value& a, const value& b, std::size_t max_bytes) {
    if (a.is_undefined()) {
        fail_undefined(a);
    }
    if (b.is_undefined()) {
        fail_undefined(b);
    }
    if (a.is_generator || b.is_generator) {
        type_error("unsupported operand type(s) for " + op + ": " + q(a) + " and " + q(b));
    }
    if (is_num(a) && is_num(b)) {
        if (a.is_float() || b.is_float()) {
            return arith_float(op, a.as_number(), b.as_number());
        }
        const auto ai = a.is_int() ? a.as_int() : std::int64_t(a.truthy());
        const auto bi = b.is_int() ? b.as_int() : std::int64_t(b.truthy());
        return arith_int(op, ai, bi);
    }
    if (op == "+") {
        if (a.is_string() && b.is_string()) {
            if (a.is_safe || b.is_safe) { // Markup + str escapes the str (both ways round)
                value r(std::string(a.is_safe ? a.str() : html_escape(a.str())) +
                        (b.is_safe ? b.str() : html_escape(b.str())));
                r.is_safe = true;
                if (r.str().size() > max_bytes) {
                    throw error(error_kind::limit, "a string would exceed the output cap");
                }
                return r;
            }
            if (a.str().size() + b.str().size() > max_bytes) {
                throw error(error_kind::limit, "a string would exceed the output cap");
            }
            return value(a.str() + b.str());
        }
        if (a.is_list() && b.is_list()) {
            list l = a.as_list();
            l.insert(l.end(), b.as_list().begin(), b.as_list().end());
            value r = value::make_list(std::move(l));
            r.is_tuple = a.is_tuple;
            return r;
        }
        if (a.is_string() || a.is_list()) {
            type_error(std::string("can only concatenate ") + a.type_name() + " (not \"" +
                       b.type_name() + "\") to " + a.type_name());
        }
    }
    if (op == "*" && (a.is_string() || a.is_list()) && (b.is_int() || b.is_bool())) {
        return repeat(a, b.is_int() ? b.as_int() : b.truthy(), max_bytes);
    }
    if (op == "*" && (b.is_string() || b.is_list()) && (a.is_int() || a.is_bool())) {
        return repeat(b, a.is_int() ? a.as_int() : a.truthy(), max_bytes);
    }
    if (op == "%" && a.is_string()) {
        return value(percent_format(a.str(), b));
    }
    type_error("unsupported operand type(s) for " + op + ": " + q(a) + " and " + q(b));
}

int compare_values(const value& a, const value& b) {
    if (is_num(a) && is_num(b)) {
        const double x = a.as_number(), y = b.as_number();
        if (a.is_int() && b.is_int()) {
            return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
        }
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a.is_string() && b.is_string()) {
        const int c = a.str().compare(b.str());
        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    if (a.is_list() && b.is_list()) {
        const auto& x = a.as_list();
        const auto& y = b.as_list();
        for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
            if (!(x[i] == y[i])) {
                return compare_values(x[i], y[i]);
            }
        }
        return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
    }
    if (a.is_undefined()) {
        fail_undefined(a);
    }
    if (b.is_undefined()) {
        fail_undefined(b);
    }
    type_error("'<' not supported between instances of " + q(a) + " and " + q(b));
}

bool contains(const value& h, const value& n) {
    if (h.is_string()) {
        if (!n.is_string()) {
            type_error("'in <string>' requires string as left operand, not " +
                       std::string(n.type_name()));
        }
        return h.str().find(n.str()) != std::string::npos;
    }
    if (h.is_dict()) {
        return h.as_dict().find(n) != nullptr;
    }
    if (h.is_list()) {
        return std::find(h.as_list().begin(), h.as_list().end(), n) != h.as_list().end();
    }
    if (h.is_undefined()) {
        fail_undefined(h);
    }
    type_error("argument of type " + q(h) + " is not iterable");
}

bool apply_test(interpreter& in, const std::string& name, const value& x, const call_args& a) {
    const value arg = a.get("value", 0);
    if (name == "defined") {
        return !x.is_undefined();
    }
    if (name == "undefined") {
        return x.is_undefined();
    }
    if (name == "none") {
        return x.is_none();
    }
    if (name == "string") {
        return x.is_string();
    }
    if (name == "mapping") {
        return x.is_dict();
    }
    if (name == "iterable" || name == "sequence") {
        return x.is_list() || x.is_dict() || x.is_string() || x.is_undefined();
    }
    if (name == "number") {
        return x.is_number() || x.is_bool();
    }
    if (name == "integer") {
        return x.is_int();
    }
    if (name == "float") {
        return x.is_float();
    }
    if (name == "boolean") {
        return x.is_bool();
    }
    if (name == "true" || name == "false") {
        return x.is_bool() && x.truthy() == (name == "true");
    }
    if (name == "callable") {
        return x.is_callable();
    }
    if (name == "equalto" || name == "eq" || name == "==" || name == "sameas") {
        return x == arg;
    }
    if (name == "ne" || name == "!=") {
        return !(x == arg);
    }
    if (name == "lt" || name == "lessthan" || name == "gt" || name == "greaterthan" ||
        name == "le" || name == "ge") {
        const int c = compare_values(x, arg);
        return name[0] == 'l' ? (name == "le" ? c <= 0 : c < 0) : (name == "ge" ? c >= 0 : c > 0);
    }
    if (name == "in") {
        return contains(arg, x);
    }
    if (name == "odd" || name == "even") {
        if (!x.is_int()) {
            type_error("test '" + name + "' needs an integer");
        }
        return (x.as_int() % 2 != 0) == (name == "odd");
    }
    if (name == "divisibleby") {
        if (!x.is_int() || !arg.is_int() || arg.as_int() == 0) {
            type_error("test 'divisibleby' needs integers");
        }
        return x.as_int() % arg.as_int() == 0;
    }
    if (name == "lower" || name == "upper") {
        if (!x.is_string()) {
            return false;
        }
        call_args none;
        return apply_filter(in, name, x, none).str() == x.str();
    }
    type_error("no test named '" + name + "'");
}

namespace {

value global(const char* name, std::function<value(call_args&)> fn) {
    auto c = std::make_shared<callable>();
    c->name = name;
    c->fn = std::move(fn);
    return value(std::move(c));
}

value make_namespace(call_args& a, bool ns) {
    auto d = value::make_dict();
    d.as_dict().is_namespace = ns;
    for (const auto& x : a.args) {
        if (x.is_dict()) {
            for (const auto& [k, v] : x.as_dict().items) {
                d.as_dict().set(k, v);
            }
        }
    }
    for (auto& [k, v] : a.kwargs) {
        d.as_dict().set(value(k), v);
    }
    return d;
}

} // namespace

void install_globals(frame& f, interpreter& in) {
    f.set("raise_exception", global("raise_exception", [](call_args& a) -> value {
              throw error(error_kind::raised, to_str(a.get("message", 0)));
          }));
    f.set("namespace", global("namespace", [](call_args& a) { return make_namespace(a, true); }));
    f.set("dict", global("dict", [](call_args& a) { return make_namespace(a, false); }));
    f.set("range", global("range", [&in](call_args& a) {
              std::int64_t start = 0, stop = 0, step = 1;
              for (const auto& x : a.args) {
                  if (!x.is_int()) {
                      type_error("range() takes integers");
                  }
              }
              if (a.args.size() == 1) {
                  stop = a.args[0].as_int();
              } else if (a.args.size() >= 2) {
                  start = a.args[0].as_int();
                  stop = a.args[1].as_int();
                  step = a.args.size() > 2 ? a.args[2].as_int() : 1;
              }
              if (step == 0) {
                  type_error("range() arg 3 must not be zero");
              }
              list l;
              for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
                  in.tick();
                  l.emplace_back(i);
              }
              return value::make_list(std::move(l));
          }));
    f.set("strftime_now", global("strftime_now", [&in](call_args& a) {
              const auto now = in.options().now.value_or(std::chrono::system_clock::now());
              const std::time_t t = std::chrono::system_clock::to_time_t(now);
              std::tm tm{};
              gmtime_r(&t, &tm);
              const value fmt = a.get("format", 0);
              if (!fmt.is_string()) {
                  type_error("strftime_now() takes a format string");
              }
              char buf[512];
              const std::size_t n = std::strftime(buf, sizeof buf, fmt.str().c_str(), &tm);
              return value(std::string(buf, n));
          }));
}

} // namespace radixrt::jinja::detail
