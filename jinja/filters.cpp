// Filters, and the methods of strings and dicts that templates call.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "jinja/error.hpp"
#include "jinja/interpreter.hpp"

namespace radixrt::jinja::detail {

namespace {

[[noreturn]] void type_error(const std::string& m) {
    throw error(error_kind::runtime, m);
}

bool py_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string strip(const std::string& s, const value& chars, bool left, bool right) {
    const auto drop = [&](char c) {
        return chars.is_string() ? chars.str().find(c) != std::string::npos : py_space(c);
    };
    std::size_t b = 0, e = s.size();
    while (left && b < e && drop(s[b])) {
        ++b;
    }
    while (right && e > b && drop(s[e - 1])) {
        --e;
    }
    return s.substr(b, e - b);
}

std::string map_case(std::string s, int (*f)(int)) {
    for (char& c : s) {
        c = char(f(static_cast<unsigned char>(c)));
    }
    return s;
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to,
                        std::int64_t count) {
    std::string out;
    std::size_t pos = 0;
    for (std::int64_t n = 0; count < 0 || n < count; ++n) {
        const std::size_t hit =
            from.empty() ? (pos <= s.size() ? pos : std::string::npos) : s.find(from, pos);
        if (hit == std::string::npos) {
            break;
        }
        out += s.substr(pos, hit - pos) + to;
        if (from.empty()) {
            if (hit < s.size()) {
                out += s[hit];
            }
            pos = hit + 1;
            if (pos > s.size()) {
                return out;
            }
        } else {
            pos = hit + from.size();
        }
    }
    return pos <= s.size() ? out + s.substr(pos) : out;
}

value split(const std::string& s, const value& sep, std::int64_t maxsplit) {
    list parts;
    if (!sep.is_string()) { // whitespace runs, no empty parts
        std::size_t i = 0;
        while (true) {
            while (i < s.size() && py_space(s[i])) {
                ++i;
            }
            if (i >= s.size()) {
                break;
            }
            if (maxsplit >= 0 && std::int64_t(parts.size()) == maxsplit) {
                std::size_t e = s.size();
                while (e > i && py_space(s[e - 1])) {
                    --e;
                }
                parts.emplace_back(s.substr(i, e - i));
                break;
            }
            std::size_t j = i;
            while (j < s.size() && !py_space(s[j])) {
                ++j;
            }
            parts.emplace_back(s.substr(i, j - i));
            i = j;
        }
        return value::make_list(std::move(parts));
    }
    if (sep.str().empty()) {
        type_error("empty separator");
    }
    std::size_t pos = 0;
    while (maxsplit < 0 || std::int64_t(parts.size()) < maxsplit) {
        const std::size_t hit = s.find(sep.str(), pos);
        if (hit == std::string::npos) {
            break;
        }
        parts.emplace_back(s.substr(pos, hit - pos));
        pos = hit + sep.str().size();
    }
    parts.emplace_back(s.substr(pos));
    return value::make_list(std::move(parts));
}

std::string title(const std::string& s, bool filter) {
    std::string out;
    bool start = true;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        out += char(start ? std::toupper(u) : std::tolower(u));
        // jinja2's filter starts words after space and -({[<; str.title after any non-letter
        start = filter
                    ? (py_space(c) || std::string_view("-({[<").find(c) != std::string_view::npos)
                    : !std::isalpha(u) && u < 0x80;
    }
    return out;
}

std::string capitalize(const std::string& s) {
    std::string out = map_case(s, [](int c) { return std::tolower(c); });
    if (!out.empty()) {
        out[0] = char(std::toupper(static_cast<unsigned char>(out[0])));
    }
    return out;
}

bool affix(const std::string& s, const value& a, bool prefix) {
    const list options = a.is_list() ? a.as_list() : list{a};
    for (const auto& o : options) {
        if (!o.is_string()) {
            type_error("startswith/endswith take a string or a tuple of strings");
        }
        const auto& p = o.str();
        if (p.size() <= s.size() && (prefix ? s.compare(0, p.size(), p) == 0
                                            : s.compare(s.size() - p.size(), p.size(), p) == 0)) {
            return true;
        }
    }
    return false;
}

std::int64_t int_arg(const value& v, std::int64_t def) {
    if (v.is_undefined() || v.is_none()) {
        return def;
    }
    if (!v.is_int()) {
        type_error("expected an integer argument");
    }
    return v.as_int();
}

value method(const char* name, std::function<value(call_args&)> fn) {
    auto c = std::make_shared<callable>();
    c->name = name;
    c->fn = std::move(fn);
    return value(std::move(c));
}

using string_fn = value (*)(const std::string&, call_args&);

value s_replace(const std::string& s, call_args& a) {
    const value from = a.get("old", 0), to = a.get("new", 1);
    if (!from.is_string() || !to.is_string()) {
        type_error("replace() takes strings");
    }
    return value(replace_all(s, from.str(), to.str(), int_arg(a.get("count", 2), -1)));
}

value s_find(const std::string& s, call_args& a) {
    const value x = a.get("sub", 0);
    if (!x.is_string()) {
        type_error("find() takes a string");
    }
    const auto p = s.find(x.str());
    return value(p == std::string::npos ? std::int64_t(-1)
                                        : std::int64_t(utf8_length(s.substr(0, p))));
}

value s_join(const std::string& s, call_args& a) {
    std::string out;
    bool first = true;
    for (const auto& x : iterate(a.get("iterable", 0))) {
        out += (first ? "" : s) + to_str(x);
        first = false;
    }
    return value(std::move(out));
}

int to_upper(int c) {
    return std::toupper(c);
}
int to_lower(int c) {
    return std::tolower(c);
}

// Python's str methods that templates call.
const std::unordered_map<std::string, string_fn>& string_methods() {
    static const std::unordered_map<std::string, string_fn> t = {
        {"strip", [](const std::string& s,
                     call_args& a) { return value(strip(s, a.get("chars", 0), true, true)); }},
        {"lstrip", [](const std::string& s,
                      call_args& a) { return value(strip(s, a.get("chars", 0), true, false)); }},
        {"rstrip", [](const std::string& s,
                      call_args& a) { return value(strip(s, a.get("chars", 0), false, true)); }},
        {"split",
         [](const std::string& s, call_args& a) {
             return split(s, a.get("sep", 0), int_arg(a.get("maxsplit", 1), -1));
         }},
        {"startswith", [](const std::string& s,
                          call_args& a) { return value(affix(s, a.get("prefix", 0), true)); }},
        {"endswith", [](const std::string& s,
                        call_args& a) { return value(affix(s, a.get("suffix", 0), false)); }},
        {"upper", [](const std::string& s, call_args&) { return value(map_case(s, to_upper)); }},
        {"lower", [](const std::string& s, call_args&) { return value(map_case(s, to_lower)); }},
        {"title", [](const std::string& s, call_args&) { return value(title(s, false)); }},
        {"capitalize", [](const std::string& s, call_args&) { return value(capitalize(s)); }},
        {"replace", s_replace},
        {"find", s_find},
        {"join", s_join},
    };
    return t;
}

value string_method(const std::string& s, const std::string& n) {
    const auto& t = string_methods();
    const auto it = t.find(n);
    if (it == t.end()) {
        return value();
    }
    const string_fn fn = it->second;
    return method(it->first.c_str(), [s, fn](call_args& a) { return fn(s, a); });
}

} // namespace

value get_method(const value& obj, const std::string& n) {
    if (obj.is_string()) {
        return string_method(obj.str(), n);
    }
    if (obj.is_dict() && !obj.as_dict().is_namespace) {
        const dict_ptr d = std::get<dict_ptr>(obj.v);
        if (n == "items") {
            return method("items", [d](call_args&) {
                list l;
                for (const auto& [k, v] : d->items) {
                    value t = value::make_list({k, v});
                    t.is_tuple = true;
                    l.push_back(std::move(t));
                }
                return value::make_list(std::move(l));
            });
        }
        if (n == "keys" || n == "values") {
            const bool keys = n == "keys";
            return method(keys ? "keys" : "values", [d, keys](call_args&) {
                list l;
                for (const auto& [k, v] : d->items) {
                    l.push_back(keys ? k : v);
                }
                return value::make_list(std::move(l));
            });
        }
        if (n == "get") {
            return method("get", [d](call_args& a) {
                const value* v = d->find(a.get("key", 0));
                if (v != nullptr) {
                    return *v;
                }
                const value def = a.get("default", 1);
                return def.is_undefined() ? value(none_t{}) : def;
            });
        }
    }
    return value();
}

std::string percent_format(const std::string& fmt, const value& args) {
    const list items = args.is_list() && args.is_tuple ? args.as_list() : list{args};
    std::size_t next = 0;
    std::string out;
    for (std::size_t i = 0; i < fmt.size(); ++i) {
        if (fmt[i] != '%') {
            out += fmt[i];
            continue;
        }
        std::size_t j = i + 1;
        while (j < fmt.size() &&
               std::string_view("0123456789.-+ #").find(fmt[j]) != std::string_view::npos) {
            ++j;
        }
        if (j >= fmt.size()) {
            type_error("incomplete format");
        }
        const char conv = fmt[j];
        if (conv == '%') {
            out += '%';
            i = j;
            continue;
        }
        if (next >= items.size()) {
            type_error("not enough arguments for format string");
        }
        const value& v = items[next++];
        const std::string spec = fmt.substr(i, j - i);
        char buf[512];
        if (conv == 's' || conv == 'r') {
            out += conv == 's' ? to_str(v) : to_repr(v);
        } else if (conv == 'd' || conv == 'i') {
            if (!v.is_number() && !v.is_bool()) {
                type_error("%d format: a real number is required, not " +
                           std::string(v.type_name()));
            }
            std::snprintf(buf, sizeof buf, (spec + "lld").c_str(),
                          static_cast<long long>(v.as_number()));
            out += buf;
        } else if (conv == 'f' || conv == 'e' || conv == 'g') {
            if (!v.is_number() && !v.is_bool()) {
                type_error("must be real number, not " + std::string(v.type_name()));
            }
            std::snprintf(buf, sizeof buf, (spec + conv).c_str(), v.as_number());
            out += buf;
        } else {
            type_error(std::string("unsupported format character '") + conv + "'");
        }
        i = j;
    }
    if (next < items.size() && args.is_tuple) {
        type_error("not all arguments converted during string formatting");
    }
    return out;
}

} // namespace radixrt::jinja::detail
