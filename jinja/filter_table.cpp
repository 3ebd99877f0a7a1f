// The filters (`x | name(args)`), jinja2's built-ins that chat templates use
// plus Hugging Face's tojson.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "jinja/error.hpp"
#include "jinja/interpreter.hpp"

namespace radixrt::jinja::detail {

namespace {

using filter_fn = value (*)(interpreter&, const value&, call_args&);

[[noreturn]] void type_error(const std::string& m) {
    throw error(error_kind::runtime, m);
}

// jinja2's map/select/unique/reverse return lazy iterators: iterable, always
// true, but without len() and not JSON serializable. Kept faithful so that a
// template fails here exactly where it fails under transformers.
value generator(list items) {
    value v = value::make_list(std::move(items));
    v.is_generator = true;
    return v;
}

// jinja2 iterates these filters' input only `if seq` (none gives nothing).
list items_if_any(const value& x) {
    return x.truthy() ? iterate(x) : list{};
}

value call_method(const value& x, const char* name, call_args& a) {
    const value m = get_method(x, name);
    if (m.is_undefined()) {
        type_error(std::string("'") + x.type_name() + "' has no method " + name);
    }
    return std::get<callable_ptr>(m.v)->fn(a);
}

value string_filter(const value& x, const char* method, call_args& a) {
    if (x.is_undefined()) {
        return value("");
    }
    const value s = x.is_string() ? x : value(to_str(x));
    return call_method(s, method, a);
}

// An attribute path "a.b" (jinja2 allows dots; integers index lists).
value attribute_of(const value& x, const value& path) {
    if (!path.is_string()) {
        return get_item(x, path);
    }
    value cur = x;
    std::size_t pos = 0;
    const std::string& p = path.str();
    while (true) {
        const std::size_t dot = p.find('.', pos);
        const std::string part =
            p.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
        if (cur.is_undefined()) {
            return cur;
        }
        const bool digits =
            !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
        cur = digits && cur.is_list() ? get_item(cur, value(std::int64_t(std::stoll(part))))
                                      : get_item(cur, value(part));
        if (dot == std::string::npos) {
            return cur;
        }
        pos = dot + 1;
    }
}

value f_tojson(interpreter&, const value& x, call_args& a) {
    const value indent = a.get("indent", 0);
    const value sort = a.get("sort_keys", 2);
    if (!a.get("separators", 1).is_undefined() && !a.get("separators", 1).is_none()) {
        type_error("tojson: custom separators are not supported");
    }
    try {
        return value(
            to_json(x, indent.is_int() ? int(std::clamp<std::int64_t>(indent.as_int(), 0, 64)) : -1,
                    sort.truthy()));
    } catch (const error&) {
        throw;
    } catch (const std::exception& e) {
        type_error(e.what());
    }
}

value f_length(interpreter&, const value& x, call_args&) {
    if (x.is_string()) {
        return value(std::int64_t(utf8_length(x.str())));
    }
    if (x.is_list() && !x.is_generator) {
        return value(std::int64_t(x.as_list().size()));
    }
    if (x.is_dict()) {
        return value(std::int64_t(x.as_dict().items.size()));
    }
    if (x.is_undefined()) {
        return value(std::int64_t(0));
    }
    type_error(std::string("object of type '") + x.type_name() + "' has no len()");
}

value f_join(interpreter& in, const value& x, call_args& a) {
    const value sep = a.get("d", 0);
    const value attr = a.get("attribute", 1);
    std::string out;
    bool first = true;
    for (const auto& item : iterate(x)) {
        in.tick();
        out += (first ? "" : to_str(sep)) +
               to_str(attr.is_undefined() ? item : attribute_of(item, attr));
        in.check_size(out.size());
        first = false;
    }
    return value(std::move(out));
}

value f_default(interpreter&, const value& x, call_args& a) {
    const bool boolean = a.get("boolean", 1).truthy();
    if (x.is_undefined() || (boolean && !x.truthy())) {
        const value d = a.get("default_value", 0);
        return d.is_undefined() ? value("") : d;
    }
    return x;
}

value f_first(interpreter&, const value& x, call_args&) {
    const list l = iterate(x);
    return l.empty() ? value::undefined("No first item, sequence was empty.") : l.front();
}

value f_last(interpreter&, const value& x, call_args&) {
    const list l = iterate(x);
    return l.empty() ? value::undefined("No last item, sequence was empty.") : l.back();
}

value f_items(interpreter&, const value& x, call_args& a) {
    if (x.is_undefined()) {
        return value::make_list();
    }
    if (!x.is_dict()) {
        type_error("Can only get item pairs from a mapping.");
    }
    return call_method(x, "items", a);
}

// select/reject/selectattr/rejectattr share one body.
value filter_by(interpreter& in, const value& x, call_args& a, bool by_attr, bool keep) {
    const std::size_t first_test = by_attr ? 1 : 0;
    const value attr = by_attr ? a.get("attribute", 0) : value();
    const value test = first_test < a.args.size() ? a.args[first_test] : value();
    call_args test_args;
    for (std::size_t i = first_test + 1; i < a.args.size(); ++i) {
        test_args.args.push_back(a.args[i]);
    }
    list out;
    for (const auto& item : items_if_any(x)) {
        in.tick();
        const value v = by_attr ? attribute_of(item, attr) : item;
        const bool ok =
            test.is_undefined() ? v.truthy() : apply_test(in, to_str(test), v, test_args);
        if (ok == keep) {
            out.push_back(item);
        }
    }
    return generator(std::move(out));
}

value f_select(interpreter& in, const value& x, call_args& a) {
    return filter_by(in, x, a, false, true);
}
value f_reject(interpreter& in, const value& x, call_args& a) {
    return filter_by(in, x, a, false, false);
}
value f_selectattr(interpreter& in, const value& x, call_args& a) {
    return filter_by(in, x, a, true, true);
}
value f_rejectattr(interpreter& in, const value& x, call_args& a) {
    return filter_by(in, x, a, true, false);
}

value f_map(interpreter& in, const value& x, call_args& a) {
    const value attr = a.get("attribute", 99);
    list out;
    if (!attr.is_undefined()) {
        const value def = a.get("default", 99);
        for (const auto& item : items_if_any(x)) {
            in.tick();
            value v = attribute_of(item, attr);
            out.push_back(v.is_undefined() && !def.is_undefined() ? def : v);
        }
        return generator(std::move(out));
    }
    if (a.args.empty()) {
        type_error("map() needs a filter name or attribute=");
    }
    const std::string name = to_str(a.args[0]);
    call_args rest;
    rest.args.assign(a.args.begin() + 1, a.args.end());
    rest.kwargs = a.kwargs;
    for (const auto& item : items_if_any(x)) {
        in.tick();
        call_args copy = rest;
        out.push_back(apply_filter(in, name, item, copy));
    }
    return generator(std::move(out));
}

value f_list(interpreter&, const value& x, call_args&) {
    return value::make_list(iterate(x));
}
value f_string(interpreter&, const value& x, call_args&) {
    return value(to_str(x));
}

value f_int(interpreter&, const value& x, call_args& a) {
    const value def = a.get("default", 0);
    const value fallback = def.is_undefined() ? value(std::int64_t(0)) : def;
    if (x.is_int()) {
        return x;
    }
    if (x.is_bool() || x.is_float()) {
        const double d = x.as_number();
        return std::isfinite(d) && std::fabs(d) < 9.2e18 ? value(std::int64_t(d)) : fallback;
    }
    if (x.is_string()) {
        const std::string s = x.str();
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(s.c_str(), &end, 10);
        if (end != s.c_str() && *end == '\0' && errno == 0) {
            return value(std::int64_t(v));
        }
        const double d = std::strtod(s.c_str(), &end);
        if (end != s.c_str() && *end == '\0' && std::isfinite(d) && std::fabs(d) < 9.2e18) {
            return value(std::int64_t(d));
        }
    }
    return fallback;
}

value f_float(interpreter&, const value& x, call_args& a) {
    const value def = a.get("default", 0);
    if (x.is_number() || x.is_bool()) {
        return value(x.as_number());
    }
    if (x.is_string()) {
        char* end = nullptr;
        const double d = std::strtod(x.str().c_str(), &end);
        if (end != x.str().c_str() && *end == '\0') {
            return value(d);
        }
    }
    return def.is_undefined() ? value(0.0) : def;
}

value f_abs(interpreter&, const value& x, call_args&) {
    if (x.is_int()) {
        return value(x.as_int() < 0 ? std::int64_t(0 - std::uint64_t(x.as_int())) : x.as_int());
    }
    if (x.is_float() || x.is_bool()) {
        return x.is_bool() ? value(std::int64_t(x.truthy())) : value(std::fabs(x.as_number()));
    }
    type_error(std::string("bad operand type for abs(): '") + x.type_name() + "'");
}

value f_round(interpreter&, const value& x, call_args& a) {
    if (!x.is_number() && !x.is_bool()) {
        type_error("round() needs a number");
    }
    const value p = a.get("precision", 0);
    const std::string method = a.get("method", 1).is_string() ? a.get("method", 1).str() : "common";
    const double scale = std::pow(10.0, double(p.is_int() ? p.as_int() : 0));
    const double v = x.as_number() * scale;
    const double r = method == "floor"  ? std::floor(v)
                     : method == "ceil" ? std::ceil(v)
                                        : std::nearbyint(v);
    return value(r / scale);
}

value f_indent(interpreter&, const value& x, call_args& a) {
    const value w = a.get("width", 0);
    const std::string pad =
        w.is_string()
            ? w.str()
            : std::string(
                  std::size_t(std::clamp<std::int64_t>(w.is_int() ? w.as_int() : 4, 0, 256)), ' ');
    const bool first = a.get("first", 1).truthy(), blank = a.get("blank", 2).truthy();
    const std::string s = to_str(x);
    std::string out;
    std::size_t pos = 0;
    for (bool line0 = true;; line0 = false) {
        const std::size_t nl = s.find('\n', pos);
        const std::string line =
            s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        if ((!line0 || first) && (blank || !line.empty())) {
            out += pad;
        }
        out += line;
        if (nl == std::string::npos) {
            break;
        }
        out += '\n';
        pos = nl + 1;
    }
    return value(std::move(out));
}

// Sort key: strings compare case-insensitively unless case_sensitive.
value sort_key(const value& v, bool case_sensitive) {
    if (v.is_string() && !case_sensitive) {
        std::string s = v.str();
        for (char& c : s) {
            c = char(std::tolower(static_cast<unsigned char>(c)));
        }
        return value(std::move(s));
    }
    return v;
}

value f_sort(interpreter&, const value& x, call_args& a) {
    const bool reverse = a.get("reverse", 0).truthy(), cs = a.get("case_sensitive", 1).truthy();
    const value attr = a.get("attribute", 2);
    list l = iterate(x);
    std::stable_sort(l.begin(), l.end(), [&](const value& p, const value& q) {
        const value kp = sort_key(attr.is_undefined() ? p : attribute_of(p, attr), cs);
        const value kq = sort_key(attr.is_undefined() ? q : attribute_of(q, attr), cs);
        return reverse ? compare_values(kq, kp) < 0 : compare_values(kp, kq) < 0;
    });
    return value::make_list(std::move(l));
}

value f_unique(interpreter&, const value& x, call_args& a) {
    const bool cs = a.get("case_sensitive", 0).truthy();
    const value attr = a.get("attribute", 1);
    list out, seen;
    for (const auto& item : iterate(x)) {
        const value k = sort_key(attr.is_undefined() ? item : attribute_of(item, attr), cs);
        if (std::find(seen.begin(), seen.end(), k) == seen.end()) {
            seen.push_back(k);
            out.push_back(item);
        }
    }
    return generator(std::move(out));
}

value f_reverse(interpreter&, const value& x, call_args&) {
    list l = iterate(x);
    std::reverse(l.begin(), l.end());
    if (x.is_string()) {
        std::string s;
        for (const auto& c : l) {
            s += c.str();
        }
        return value(std::move(s));
    }
    return generator(std::move(l));
}

value f_sum(interpreter&, const value& x, call_args& a) {
    const value attr = a.get("attribute", 0);
    value total = a.get("start", 1).is_undefined() ? value(std::int64_t(0)) : a.get("start", 1);
    for (const auto& item : iterate(x)) {
        total =
            binary_op("+", total, attr.is_undefined() ? item : attribute_of(item, attr), 1u << 30);
    }
    return total;
}

value extreme(const value& x, call_args& a, bool want_max) {
    const bool cs = a.get("case_sensitive", 0).truthy();
    const value attr = a.get("attribute", 1);
    const list l = iterate(x);
    if (l.empty()) {
        return value::undefined("No aggregated item, sequence was empty.");
    }
    std::size_t best = 0;
    for (std::size_t i = 1; i < l.size(); ++i) {
        const value ki = sort_key(attr.is_undefined() ? l[i] : attribute_of(l[i], attr), cs);
        const value kb = sort_key(attr.is_undefined() ? l[best] : attribute_of(l[best], attr), cs);
        if (want_max ? compare_values(ki, kb) > 0 : compare_values(ki, kb) < 0) {
            best = i;
        }
    }
    return l[best];
}

value f_max(interpreter&, const value& x, call_args& a) {
    return extreme(x, a, true);
}
value f_min(interpreter&, const value& x, call_args& a) {
    return extreme(x, a, false);
}

value f_dictsort(interpreter&, const value& x, call_args& a) {
    if (!x.is_dict()) {
        type_error("dictsort needs a mapping");
    }
    const bool cs = a.get("case_sensitive", 0).truthy(),
               by_value = to_str(a.get("by", 1)) == "value";
    const bool reverse = a.get("reverse", 2).truthy();
    auto items = x.as_dict().items;
    std::stable_sort(items.begin(), items.end(), [&](const auto& p, const auto& q) {
        const int c = compare_values(sort_key(by_value ? p.second : p.first, cs),
                                     sort_key(by_value ? q.second : q.first, cs));
        return reverse ? c > 0 : c < 0;
    });
    list out;
    for (auto& [k, v] : items) {
        value t = value::make_list({k, v});
        t.is_tuple = true;
        out.push_back(std::move(t));
    }
    return value::make_list(std::move(out));
}

// escape and safe make Markup strings: escape leaves one unchanged.
value f_escape(interpreter&, const value& x, call_args&) {
    if (x.is_safe) {
        return x;
    }
    value out(html_escape(to_str(x)));
    out.is_safe = true;
    return out;
}

value f_attr(interpreter&, const value& x, call_args& a) {
    return get_attr(x, to_str(a.get("name", 0)));
}
value f_safe(interpreter&, const value& x, call_args&) {
    value out = x.is_string() ? x : value(to_str(x));
    out.is_safe = true;
    return out;
}
value f_trim(interpreter&, const value& x, call_args& a) {
    return string_filter(x, "strip", a);
}
value f_upper(interpreter&, const value& x, call_args& a) {
    return string_filter(x, "upper", a);
}
value f_lower(interpreter&, const value& x, call_args& a) {
    return string_filter(x, "lower", a);
}
value f_capitalize(interpreter&, const value& x, call_args& a) {
    return string_filter(x, "capitalize", a);
}
value f_replace(interpreter&, const value& x, call_args& a) {
    return string_filter(x, "replace", a);
}
value f_format(interpreter&, const value& x, call_args& a) {
    value t = value::make_list(a.args);
    t.is_tuple = true;
    return value(percent_format(to_str(x), t));
}
value f_title(interpreter&, const value& x, call_args&) {
    // jinja2's title: words start after white space and -({[<.
    std::string out;
    bool start = true;
    for (char c : to_str(x)) {
        const auto u = static_cast<unsigned char>(c);
        out += char(start ? std::toupper(u) : std::tolower(u));
        start = std::string_view(" \t\n\r\f\v-({[<").find(c) != std::string_view::npos;
    }
    return value(std::move(out));
}

const std::unordered_map<std::string, filter_fn>& table() {
    static const std::unordered_map<std::string, filter_fn> t = {
        {"tojson", f_tojson},
        {"length", f_length},
        {"count", f_length},
        {"join", f_join},
        {"default", f_default},
        {"d", f_default},
        {"first", f_first},
        {"last", f_last},
        {"items", f_items},
        {"select", f_select},
        {"reject", f_reject},
        {"selectattr", f_selectattr},
        {"rejectattr", f_rejectattr},
        {"map", f_map},
        {"list", f_list},
        {"string", f_string},
        {"int", f_int},
        {"float", f_float},
        {"abs", f_abs},
        {"round", f_round},
        {"indent", f_indent},
        {"sort", f_sort},
        {"unique", f_unique},
        {"reverse", f_reverse},
        {"sum", f_sum},
        {"max", f_max},
        {"min", f_min},
        {"dictsort", f_dictsort},
        {"escape", f_escape},
        {"e", f_escape},
        {"attr", f_attr},
        {"safe", f_safe},
        {"trim", f_trim},
        {"upper", f_upper},
        {"lower", f_lower},
        {"capitalize", f_capitalize},
        {"replace", f_replace},
        {"title", f_title},
        {"format", f_format},
    };
    return t;
}

} // namespace

value apply_filter(interpreter& in, const std::string& name, const value& x, call_args& a) {
    const auto& t = table();
    const auto it = t.find(name);
    if (it == t.end()) {
        throw error(error_kind::runtime, "no filter named '" + name + "'");
    }
    value r = it->second(in, x, a);
    if (r.is_string()) {
        in.check_size(r.str().size());
    }
    return r;
}

} // namespace radixrt::jinja::detail
