#include <cmath>
#include <cstdio>

#include "runtime/json_schema_detail.hpp"
#include "runtime/regex_grammar.hpp"

namespace radixrt::runtime {

using kind = json_value::kind;

std::vector<std::string> schema_types(const json_value& s) {
    if (const auto* t = s.find("type")) {
        if (t->type == kind::string) {
            return {t->text};
        }
        if (t->type == kind::array && !t->items.empty()) {
            std::vector<std::string> out;
            for (const auto& v : t->items) {
                if (v.type != kind::string) {
                    throw schema_error("type", "type must be a string or an array of strings");
                }
                out.push_back(v.text);
            }
            return out;
        }
        throw schema_error("type", "type must be a string or an array of strings");
    }
    auto any = [&](std::initializer_list<const char*> keys) {
        for (const char* k : keys) {
            if (s.find(k)) {
                return true;
            }
        }
        return false;
    };
    if (any({"properties", "required", "additionalProperties"})) {
        return {"object"};
    }
    if (any({"items", "minItems", "maxItems"})) {
        return {"array"};
    }
    if (any({"minLength", "maxLength", "pattern", "format"})) {
        return {"string"};
    }
    if (any({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})) {
        throw schema_error("minimum", "numeric bounds need \"type\": \"integer\"");
    }
    return {"any"};
}

bool type_admits(const std::vector<std::string>& types, const json_value& v) {
    for (const auto& t : types) {
        const bool integral = v.type == kind::number &&
                              v.text.find_first_of(".eE") == std::string::npos;
        if (t == "any" || (t == "object" && v.type == kind::object) ||
            (t == "array" && v.type == kind::array) || (t == "string" && v.type == kind::string) ||
            (t == "number" && v.type == kind::number) || (t == "integer" && integral) ||
            (t == "boolean" && v.type == kind::boolean) || (t == "null" && v.type == kind::null)) {
            return true;
        }
    }
    return false;
}

std::string gbnf_literal(std::string_view bytes) {
    std::string out = "\"";
    char buf[8];
    for (char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\' || u < 0x20) {
            std::snprintf(buf, sizeof buf, "\\x%02X", unsigned(u));
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::size_t count_keyword(const json_value& s, const char* key, std::size_t fallback) {
    const auto* v = s.find(key);
    if (!v) {
        return fallback;
    }
    if (v->type != kind::number || v->text.find_first_of(".eE-") != std::string::npos ||
        v->text.size() > 4 || std::stoul(v->text) > 1000) {
        throw schema_error(key, std::string(key) + " must be an integer from 0 to 1000");
    }
    return std::stoul(v->text);
}

std::optional<std::pair<std::int64_t, std::int64_t>> integer_bounds(const json_value& s) {
    constexpr std::int64_t limit = 9'999'999'999'999'999; // 16 digits, as json-integer
    std::int64_t lo = -limit, hi = limit;
    bool bounded = false;
    for (const char* key : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
        const auto* v = s.find(key);
        if (!v) {
            continue;
        }
        if (v->type != kind::number) {
            throw schema_error(key, std::string(key) + " must be a number");
        }
        const double x = std::stod(v->text);
        if (!(std::fabs(x) <= 1e15)) {
            throw schema_error(key, std::string(key) + " beyond +-1e15 is not supported");
        }
        bounded = true;
        const std::string k = key;
        if (k == "minimum") {
            lo = std::max(lo, std::int64_t(std::ceil(x)));
        } else if (k == "exclusiveMinimum") {
            lo = std::max(lo, std::int64_t(std::floor(x)) + 1);
        } else if (k == "maximum") {
            hi = std::min(hi, std::int64_t(std::floor(x)));
        } else {
            hi = std::min(hi, std::int64_t(std::ceil(x)) - 1);
        }
    }
    if (!bounded) {
        return std::nullopt;
    }
    if (lo > hi) {
        throw schema_error("minimum", "the integer range is empty");
    }
    return std::make_pair(lo, hi);
}

namespace {

// Decimal strings x <= y of equal length, as GBNF alternatives.
std::string same_length(const std::string& x, const std::string& y) {
    if (x.empty()) {
        return "\"\"";
    }
    if (x == y) {
        return "\"" + x + "\"";
    }
    const std::size_t n = x.size() - 1;
    const std::string any = n == 0 ? "" : " [0-9]{" + std::to_string(n) + "}";
    const bool zeros = x.find_first_not_of('0', 1) == std::string::npos;
    const bool nines = y.find_first_not_of('9', 1) == std::string::npos;
    if (x[0] == y[0]) {
        return "\"" + std::string(1, x[0]) + "\" " + same_length(x.substr(1), y.substr(1));
    }
    std::string out = "(";
    char from = x[0], to = y[0];
    if (!zeros) {
        out += "\"" + std::string(1, x[0]) + "\" " + same_length(x.substr(1), std::string(n, '9')) + " | ";
        ++from;
    }
    if (!nines) {
        --to;
    }
    if (from <= to) {
        out += "[" + std::string(1, from) + "-" + std::string(1, to) + "]" + any + " | ";
    }
    if (!nines) {
        out += "\"" + std::string(1, y[0]) + "\" " + same_length(std::string(n, '0'), y.substr(1)) + " | ";
    }
    out.resize(out.size() - 3);
    return out + ")";
}

// [a, b], 0 <= a <= b, split by digit count.
std::string non_negative(std::uint64_t a, std::uint64_t b) {
    std::string out = "(";
    std::uint64_t pow = 1; // 10^(len-1)
    for (std::size_t len = 1; len <= 19; ++len, pow *= 10) {
        const std::uint64_t lo = std::max(a, len == 1 ? 0 : pow);
        const std::uint64_t hi = std::min(b, pow * 10 - 1);
        if (lo <= hi) {
            out += (out.size() > 1 ? " | " : "") + same_length(std::to_string(lo), std::to_string(hi));
        }
        if (pow * 10 - 1 >= b) {
            break;
        }
    }
    return out + ")";
}

} // namespace

std::string integer_range_gbnf(std::int64_t lo, std::int64_t hi) {
    std::string out = "(";
    if (lo < 0) {
        const auto top = std::uint64_t(-lo);
        const auto bottom = std::uint64_t(hi < 0 ? -hi : 1);
        out += "\"-\" " + non_negative(bottom, top);
    }
    if (hi >= 0) {
        out += (lo < 0 ? " | " : "") + non_negative(std::uint64_t(std::max<std::int64_t>(lo, 0)),
                                                    std::uint64_t(hi));
    }
    return out + ")";
}

// Properties in schema order (required ones first is not assumed); the
// comma logic uses two rules per position: `first_i` (nothing emitted yet)
// and `after_i` (something was), so optional properties can be left out.
namespace {

struct property {
    std::string name;
    const json_value* schema;
    bool required;
};

// `properties` in order, then `required` names not among them (any value).
std::vector<property> collect_properties(const json_value& s) {
    std::vector<std::pair<std::string, const json_value*>> props;
    if (const auto* p = s.find("properties")) {
        if (p->type != kind::object) {
            throw schema_error("properties", "properties must be an object");
        }
        for (std::size_t i = 0; i < p->keys.size(); ++i) {
            props.emplace_back(p->keys[i], &p->values[i]);
        }
    }
    static const json_value anything = [] {
        json_value v;
        v.type = kind::object;
        return v;
    }();
    std::vector<bool> required(props.size(), false);
    if (const auto* r = s.find("required")) {
        if (r->type != kind::array) {
            throw schema_error("required", "required must be an array of strings");
        }
        for (const auto& name : r->items) {
            if (name.type != kind::string) {
                throw schema_error("required", "required must be an array of strings");
            }
            std::size_t i = 0;
            while (i < props.size() && props[i].first != name.text) {
                ++i;
            }
            if (i == props.size()) {
                props.emplace_back(name.text, &anything);
                required.push_back(false);
            }
            required[i] = true;
        }
    }
    std::vector<property> out;
    for (std::size_t i = 0; i < props.size(); ++i) {
        out.push_back({props[i].first, props[i].second, required[i]});
    }
    return out;
}

} // namespace

std::string object_rule(const json_value& s, const std::string& hint, int depth,
                        const visit_fn& visit, const add_fn& add) {
    const auto props = collect_properties(s);
    std::string extra; // the value rule of additional properties, if allowed
    const auto* ap = s.find("additionalProperties");
    if (!ap) {
        extra = props.empty() ? "json-value" : "";
    } else if (ap->type == kind::boolean) {
        extra = ap->flag ? "json-value" : "";
    } else {
        extra = visit(*ap, hint + "-extra", depth + 1);
    }
    if (props.empty() && extra == "json-value") {
        return "json-object";
    }
    const std::string extra_kv =
        extra.empty() ? "" : add(hint + "-extra-kv", "json-string ws \":\" ws " + extra + " ws");
    std::string after = extra.empty() ? "\"\"" : add(hint + "-a", "( \",\" ws " + extra_kv + " )*");
    std::string first = extra.empty() ? "\"\"" : add(hint + "-f", "( " + extra_kv + " " + after + " )?");
    for (std::size_t i = props.size(); i-- > 0;) {
        const std::string kv = add(hint + "-" + props[i].name,
                                   gbnf_literal(json_quote(props[i].name)) + " ws \":\" ws " +
                                       visit(*props[i].schema, hint + "-" + props[i].name, depth + 1) +
                                       " ws");
        const std::string next_after = after;
        if (props[i].required) {
            after = add(hint + "-a", "\",\" ws " + kv + " " + next_after);
            first = add(hint + "-f", kv + " " + next_after);
        } else {
            after = add(hint + "-a", "( \",\" ws " + kv + " )? " + next_after);
            first = add(hint + "-f", kv + " " + next_after + " | " + first);
        }
    }
    return add(hint, "\"{\" ws " + first + " \"}\"");
}

} // namespace radixrt::runtime
