#include "jinja/value.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace radixrt::jinja {

const value* dict::find(const value& key) const {
    for (const auto& [k, v] : items) {
        if (k == key) {
            return &v;
        }
    }
    return nullptr;
}

void dict::set(value key, value val) {
    for (auto& [k, v] : items) {
        if (k == key) {
            v = std::move(val);
            return;
        }
    }
    items.emplace_back(std::move(key), std::move(val));
}

value call_args::get(const std::string& name, std::size_t pos) const {
    for (const auto& [k, v] : kwargs) {
        if (k == name) {
            return v;
        }
    }
    return pos < args.size() ? args[pos] : value::undefined(name);
}

double value::as_number() const {
    if (is_int()) {
        return double(as_int());
    }
    if (is_bool()) {
        return std::get<bool>(v) ? 1.0 : 0.0;
    }
    return std::get<double>(v);
}

bool value::truthy() const {
    if (is_generator) {
        return true; // a Python generator object is always true
    }
    return std::visit(
        [](const auto& x) -> bool {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, undefined_t> || std::is_same_v<T, none_t>) {
                return false;
            } else if constexpr (std::is_same_v<T, bool>) {
                return x;
            } else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>) {
                return x != 0;
            } else if constexpr (std::is_same_v<T, std::string>) {
                return !x.empty();
            } else if constexpr (std::is_same_v<T, list_ptr>) {
                return !x->empty();
            } else if constexpr (std::is_same_v<T, dict_ptr>) {
                return x->is_namespace || !x->items.empty();
            } else {
                return true;
            }
        },
        v);
}

const char* value::type_name() const {
    static const char* names[] = {"Undefined", "NoneType", "bool", "int",     "float",
                                  "str",       "list",     "dict", "function"};
    if (is_list() && is_tuple) {
        return "tuple";
    }
    if (is_list() && is_generator) {
        return "generator";
    }
    return names[v.index()];
}

bool operator==(const value& a, const value& b) {
    if (a.is_number() || a.is_bool()) {
        if (!(b.is_number() || b.is_bool())) {
            return false;
        }
        if (a.is_float() || b.is_float()) {
            return a.as_number() == b.as_number();
        }
        const auto ai = a.is_bool() ? std::int64_t(std::get<bool>(a.v)) : a.as_int();
        const auto bi = b.is_bool() ? std::int64_t(std::get<bool>(b.v)) : b.as_int();
        return ai == bi;
    }
    if (a.v.index() != b.v.index()) {
        return false;
    }
    if (a.is_string()) {
        return a.str() == b.str();
    }
    if (a.is_list()) {
        return a.as_list() == b.as_list();
    }
    if (a.is_dict()) {
        const auto& x = a.as_dict().items;
        const auto& y = b.as_dict().items;
        if (x.size() != y.size()) {
            return false;
        }
        for (const auto& [k, val] : x) {
            const value* o = b.as_dict().find(k);
            if (o == nullptr || !(*o == val)) {
                return false;
            }
        }
        return true;
    }
    if (a.is_callable()) {
        return std::get<callable_ptr>(a.v) == std::get<callable_ptr>(b.v);
    }
    return true; // undefined == undefined, none == none
}

std::string float_repr(double d) {
    if (std::isnan(d)) {
        return "nan";
    }
    if (std::isinf(d)) {
        return d > 0 ? "inf" : "-inf";
    }
    // Shortest round-trip digits, then Python's layout: positional for
    // exponents in [-4, 16), else d.ddde+XX.
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string s(buf, r.ptr);
    const auto e = s.find('e');
    std::string mant = s.substr(0, e);
    const int exp = std::stoi(s.substr(e + 1));
    std::string sign;
    if (mant[0] == '-') {
        sign = "-";
        mant.erase(0, 1);
    }
    std::string digits;
    for (char c : mant) {
        if (c != '.') {
            digits += c;
        }
    }
    if (exp >= -4 && exp < 16) {
        std::string out;
        if (exp < 0) {
            out = "0." + std::string(std::size_t(-exp - 1), '0') + digits;
        } else if (std::size_t(exp) + 1 >= digits.size()) {
            out = digits + std::string(std::size_t(exp) + 1 - digits.size(), '0') + ".0";
        } else {
            out =
                digits.substr(0, std::size_t(exp) + 1) + "." + digits.substr(std::size_t(exp) + 1);
        }
        return sign + out;
    }
    std::string m = digits.substr(0, 1);
    if (digits.size() > 1) {
        m += "." + digits.substr(1);
    }
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    return sign + m + eb;
}

std::size_t utf8_length(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) {
        n += (c & 0xC0) != 0x80;
    }
    return n;
}

namespace {

std::string string_repr(const std::string& s) {
    const bool dq = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
    const char q = dq ? '"' : '\'';
    std::string out(1, q);
    for (unsigned char c : s) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == q) {
            out += '\\';
            out += char(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7f) {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02x", c);
            out += b;
        } else {
            out += char(c);
        }
    }
    return out + q;
}

void json_string(std::string& out, const std::string& s) {
    out += '"';
    for (unsigned char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        default:
            if (c < 0x20) {
                char b[8];
                std::snprintf(b, sizeof b, "\\u%04x", c);
                out += b;
            } else {
                out += char(c);
            }
        }
    }
    out += '"';
}

void json_dump(std::string& out, const value& x, int indent, int level, bool sort_keys) {
    const auto newline = [&](int lv) {
        out += '\n';
        out.append(std::size_t(indent * lv), ' ');
    };
    if (x.is_none()) {
        out += "null";
    } else if (x.is_bool()) {
        out += std::get<bool>(x.v) ? "true" : "false";
    } else if (x.is_int()) {
        out += std::to_string(x.as_int());
    } else if (x.is_float()) {
        const double d = std::get<double>(x.v);
        out += std::isnan(d)   ? "NaN"
               : std::isinf(d) ? (d > 0 ? "Infinity" : "-Infinity")
                               : float_repr(d);
    } else if (x.is_string()) {
        json_string(out, x.str());
    } else if (x.is_list() && !x.is_generator) {
        const auto& l = x.as_list();
        out += '[';
        for (std::size_t i = 0; i < l.size(); ++i) {
            out += i == 0 ? "" : indent >= 0 ? "," : ", ";
            if (indent >= 0) {
                newline(level + 1);
            }
            json_dump(out, l[i], indent, level + 1, sort_keys);
        }
        if (indent >= 0 && !l.empty()) {
            newline(level);
        }
        out += ']';
    } else if (x.is_dict()) {
        auto items = x.as_dict().items;
        for (const auto& [k, v] : items) {
            if (!k.is_string()) {
                throw std::runtime_error("keys must be str for JSON");
            }
        }
        if (sort_keys) {
            std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
                return a.first.str() < b.first.str();
            });
        }
        out += '{';
        for (std::size_t i = 0; i < items.size(); ++i) {
            out += i == 0 ? "" : indent >= 0 ? "," : ", ";
            if (indent >= 0) {
                newline(level + 1);
            }
            json_string(out, items[i].first.str());
            out += ": ";
            json_dump(out, items[i].second, indent, level + 1, sort_keys);
        }
        if (indent >= 0 && !items.empty()) {
            newline(level);
        }
        out += '}';
    } else {
        throw std::runtime_error(std::string("Object of type ") + x.type_name() +
                                 " is not JSON serializable");
    }
}

} // namespace

std::string to_repr(const value& x) {
    if (x.is_generator) {
        return "<generator object>";
    }
    if (x.is_string()) {
        return string_repr(x.str());
    }
    if (x.is_list()) {
        const auto& l = x.as_list();
        std::string out = x.is_tuple ? "(" : "[";
        for (std::size_t i = 0; i < l.size(); ++i) {
            out += (i ? ", " : "") + to_repr(l[i]);
        }
        if (x.is_tuple && l.size() == 1) {
            out += ",";
        }
        return out + (x.is_tuple ? ")" : "]");
    }
    if (x.is_dict()) {
        std::string out = "{";
        bool first = true;
        for (const auto& [k, v] : x.as_dict().items) {
            out += (first ? "" : ", ") + to_repr(k) + ": " + to_repr(v);
            first = false;
        }
        return out + "}";
    }
    return to_str(x);
}

std::string html_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&#34;";
            break;
        case '\'':
            out += "&#39;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string to_str(const value& x) {
    if (x.is_undefined()) {
        return "";
    }
    if (x.is_none()) {
        return "None";
    }
    if (x.is_bool()) {
        return std::get<bool>(x.v) ? "True" : "False";
    }
    if (x.is_int()) {
        return std::to_string(x.as_int());
    }
    if (x.is_float()) {
        return float_repr(std::get<double>(x.v));
    }
    if (x.is_string()) {
        return x.str();
    }
    if (x.is_callable()) {
        return "<function " + std::get<callable_ptr>(x.v)->name + ">";
    }
    return to_repr(x);
}

value from_json(const nlohmann::ordered_json& j) {
    switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
        return value(none_t{});
    case nlohmann::ordered_json::value_t::boolean:
        return value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
        return value(j.get<std::int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned:
        return value(std::int64_t(j.get<std::uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float:
        return value(j.get<double>());
    case nlohmann::ordered_json::value_t::string:
        return value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
        list l;
        l.reserve(j.size());
        for (const auto& e : j) {
            l.push_back(from_json(e));
        }
        return value::make_list(std::move(l));
    }
    case nlohmann::ordered_json::value_t::object: {
        auto d = value::make_dict();
        for (const auto& [k, e] : j.items()) {
            d.as_dict().items.emplace_back(value(k), from_json(e));
        }
        return d;
    }
    default:
        return value(none_t{});
    }
}

std::string to_json(const value& x, int indent, bool sort_keys) {
    std::string out;
    json_dump(out, x, indent, 0, sort_keys);
    return out;
}

} // namespace radixrt::jinja
