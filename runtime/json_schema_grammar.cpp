#include "runtime/json_schema_grammar.hpp"

#include <cmath>
#include <cstdio>
#include <set>
#include <unordered_map>
#include <vector>

#include "runtime/json_schema_detail.hpp"

namespace radixrt::runtime {

namespace {

using kind = json_value::kind;

// Rules every converted schema may use. Strings exclude lone surrogate
// escapes (\uD800..\uDFFF: strict parsers reject them); numbers keep to 16
// integer digits and a 2-digit exponent.
const char* primitives = R"g(ws ::= [ \t\n]{0,20}
hex ::= [0-9a-fA-F]
json-char ::= [^"\\\x00-\x1f] | "\\" ( ["\\/bfnrt] | "u" ( [0-9a-cA-CefEF] hex{3} | [dD] [0-7] hex{2} ) )
json-string ::= "\"" json-char* "\""
json-integer ::= "-"? ( "0" | [1-9] [0-9]{0,15} )
json-number ::= json-integer ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,2} )?
json-boolean ::= "true" | "false"
json-null ::= "null"
json-value ::= json-object | json-array | json-string | json-number | json-boolean | json-null
json-object ::= "{" ws ( json-kv ( "," ws json-kv )* )? "}"
json-kv ::= json-string ws ":" ws json-value ws
json-array ::= "[" ws ( json-value ws ( "," ws json-value ws )* )? "]"
day31 ::= "0" [1-9] | [12] [0-9] | "3" [01]
json-date ::= [0-9]{4} "-" ( ( "0" [13578] | "1" [02] ) "-" day31 | ( "0" [469] | "11" ) "-" ( "0" [1-9] | [12] [0-9] | "30" ) | "02-" ( "0" [1-9] | "1" [0-9] | "2" [0-8] ) )
hour ::= [01] [0-9] | "2" [0-3]
json-time ::= hour ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{1,9} )? ( "Z" | [+-] hour ":" [0-5] [0-9] )
json-uuid ::= hex{8} "-" hex{4} "-" hex{4} "-" hex{4} "-" hex{12}
)g";

const std::set<std::string, std::less<>> annotations = {
    "title",    "description", "$schema",  "$id",       "default", "examples",
    "$comment", "deprecated",  "readOnly", "writeOnly", "$defs",   "definitions"};
const std::set<std::string, std::less<>> constraints = {"type",
                                                        "properties",
                                                        "required",
                                                        "additionalProperties",
                                                        "items",
                                                        "minItems",
                                                        "maxItems",
                                                        "enum",
                                                        "const",
                                                        "minLength",
                                                        "maxLength",
                                                        "pattern",
                                                        "format",
                                                        "minimum",
                                                        "maximum",
                                                        "exclusiveMinimum",
                                                        "exclusiveMaximum",
                                                        "anyOf",
                                                        "oneOf",
                                                        "$ref"};

using rule_list = std::vector<std::pair<std::string, std::string>>;

// Converts one schema; its helper rules go to a list that several
// converters may share (their names are numbered by the list's size, so
// they stay distinct), which is how several schemas make one grammar.
class converter {
  public:
    converter(const json_value& root, rule_list& rules) : root_(root), rules_(rules) {}

    /// The body of the schema's own rule.
    std::string run() { return visit(root_, "root", 0); }

  private:
    std::string add(const std::string& hint, std::string body) {
        std::string name;
        for (char c : hint) {
            const bool ok =
                (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            name += ok ? c : '-';
        }
        name = "s-" + name.substr(0, 40) + "-" + std::to_string(rules_.size());
        rules_.emplace_back(name, std::move(body));
        return name;
    }
    std::string visit(const json_value& s, const std::string& hint, int depth);
    std::string visit_type(const json_value& s, const std::string& type, const std::string& hint,
                           int depth);
    std::string ref(const json_value& v, int depth);
    std::string any_of(const json_value& s, const char* key, const json_value& list,
                       const std::string& hint, int depth);
    std::string enumeration(const json_value& s, const std::vector<std::string>& types,
                            const std::string& hint);
    std::string object(const json_value& s, const std::string& hint, int depth);
    std::string array(const json_value& s, const std::string& hint, int depth);
    std::string string(const json_value& s);
    std::string integer(const json_value& s);

    const json_value& root_;
    rule_list& rules_;
    std::unordered_map<std::string, std::string> refs_;
};

bool has_constraint_besides(const json_value& s, std::string_view keep) {
    for (const auto& k : s.keys) {
        if (k != keep && constraints.count(k) != 0) {
            return true;
        }
    }
    return false;
}

std::string alternatives(const std::vector<std::string>& alts) {
    std::string out = "(";
    for (std::size_t i = 0; i < alts.size(); ++i) {
        out += (i ? " | " : "") + alts[i];
    }
    return out + ")";
}

std::string converter::visit(const json_value& s, const std::string& hint, int depth) {
    if (depth > 64) {
        throw schema_error("$ref", "schemas nest deeper than 64 levels");
    }
    if (s.type == kind::boolean) {
        if (!s.flag) {
            throw schema_error("false", "the schema `false` matches nothing");
        }
        return "json-value";
    }
    if (s.type != kind::object) {
        throw schema_error("schema", "a schema must be an object or a boolean");
    }
    for (const auto& k : s.keys) {
        if (annotations.count(k) == 0 && constraints.count(k) == 0) {
            throw schema_error(k, "unsupported JSON Schema keyword '" + k + "'");
        }
    }
    if (const auto* r = s.find("$ref")) {
        if (has_constraint_besides(s, "$ref")) {
            throw schema_error("$ref", "keywords next to $ref are not supported");
        }
        return ref(*r, depth);
    }
    for (const char* key : {"anyOf", "oneOf"}) {
        if (const auto* list = s.find(key)) {
            return any_of(s, key, *list, hint, depth);
        }
    }
    const auto types = schema_types(s);
    if (s.find("const") || s.find("enum")) {
        return enumeration(s, types, hint);
    }
    std::vector<std::string> alts;
    for (const auto& t : types) {
        alts.push_back(visit_type(s, t, hint, depth));
    }
    return alts.size() == 1 ? alts[0] : add(hint, alternatives(alts));
}

std::string converter::any_of(const json_value& s, const char* key, const json_value& list,
                              const std::string& hint, int depth) {
    if (list.type != kind::array || list.items.empty()) {
        throw schema_error(key, std::string(key) + " must be a non-empty array");
    }
    if (has_constraint_besides(s, key)) {
        throw schema_error(key, std::string(key) + " next to other constraints is not supported");
    }
    std::vector<std::string> alts;
    for (std::size_t i = 0; i < list.items.size(); ++i) {
        alts.push_back(visit(list.items[i], hint + "-" + std::to_string(i), depth + 1));
    }
    return add(hint, alternatives(alts));
}

// const, or enum values of the schema's type, as literals of their JSON text.
std::string converter::enumeration(const json_value& s, const std::vector<std::string>& types,
                                   const std::string& hint) {
    if (const auto* c = s.find("const")) {
        if (!type_admits(types, *c)) {
            throw schema_error("const", "the const value does not have the schema's type");
        }
        return gbnf_literal(c->dump());
    }
    const auto* e = s.find("enum");
    if (e->type != kind::array) {
        throw schema_error("enum", "enum must be an array");
    }
    std::vector<std::string> alts;
    for (const auto& v : e->items) {
        if (type_admits(types, v)) {
            alts.push_back(gbnf_literal(v.dump()));
        }
    }
    if (alts.empty()) {
        throw schema_error("enum", "no enum value has the schema's type");
    }
    return add(hint, alternatives(alts));
}

std::string converter::visit_type(const json_value& s, const std::string& type,
                                  const std::string& hint, int depth) {
    if (type == "object") {
        return object(s, hint, depth);
    }
    if (type == "array") {
        return array(s, hint, depth);
    }
    if (type == "string") {
        return string(s);
    }
    if (type == "integer") {
        return integer(s);
    }
    if (type == "number") {
        for (const char* key : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
            if (s.find(key)) {
                throw schema_error(key, std::string(key) + " is supported for integers only");
            }
        }
        return "json-number";
    }
    if (type == "boolean") {
        return "json-boolean";
    }
    if (type == "null") {
        return "json-null";
    }
    if (type == "any") {
        return "json-value";
    }
    throw schema_error("type", "unknown type '" + type + "'");
}

std::string converter::ref(const json_value& v, int depth) {
    if (v.type != kind::string) {
        throw schema_error("$ref", "$ref must be a string");
    }
    if (auto it = refs_.find(v.text); it != refs_.end()) {
        return it->second;
    }
    std::string_view path = v.text;
    const json_value* defs = nullptr;
    for (const char* prefix : {"#/$defs/", "#/definitions/"}) {
        if (path.starts_with(prefix)) {
            path.remove_prefix(std::string_view(prefix).size());
            defs =
                root_.find(std::string_view(prefix).substr(2, std::string_view(prefix).size() - 3));
            break;
        }
    }
    const json_value* target = defs ? defs->find(path) : nullptr;
    if (!target) {
        throw schema_error("$ref", "only #/$defs/<name> and #/definitions/<name> references to "
                                   "existing definitions are supported: '" +
                                       v.text + "'");
    }
    // Name the rule before visiting it, so recursive references find it.
    const std::string name = add(std::string(path), "");
    const std::size_t slot = rules_.size() - 1;
    refs_.emplace(v.text, name);
    std::string body = visit(*target, std::string(path), depth + 1);
    rules_[slot].second = std::move(body);
    return name;
}

std::string converter::object(const json_value& s, const std::string& hint, int depth) {
    return object_rule(
        s, hint, depth,
        [this](const json_value& sub, const std::string& h, int d) { return visit(sub, h, d); },
        [this](const std::string& h, std::string body) { return add(h, std::move(body)); });
}

std::string converter::array(const json_value& s, const std::string& hint, int depth) {
    std::string item = "json-value";
    if (const auto* items = s.find("items")) {
        item = visit(*items, hint + "-item", depth + 1);
    }
    const std::size_t min = count_keyword(s, "minItems", 0);
    const std::size_t max = count_keyword(s, "maxItems", std::size_t(-1));
    if (max != std::size_t(-1) && max < min) {
        throw schema_error("maxItems", "maxItems is smaller than minItems");
    }
    if (max == 0) {
        return add(hint, "\"[\" ws \"]\"");
    }
    const std::string more = "( \",\" ws " + item + " ws ){" +
                             std::to_string(min > 0 ? min - 1 : 0) + "," +
                             (max == std::size_t(-1) ? "" : std::to_string(max - 1)) + "}";
    const std::string first = item + " ws " + more;
    return add(hint, "\"[\" ws " + (min == 0 ? "( " + first + " )?" : first) + " \"]\"");
}

std::string converter::string(const json_value& s) {
    const auto* format = s.find("format");
    const auto* pattern = s.find("pattern");
    const bool lengths = s.find("minLength") || s.find("maxLength");
    if ((format || pattern) && lengths) {
        throw schema_error(s.find("minLength") ? "minLength" : "maxLength",
                           "lengths together with pattern or format are not supported");
    }
    if (format && pattern) {
        throw schema_error("format", "format together with pattern is not supported");
    }
    if (format) {
        const std::string f = format->type == kind::string ? format->text : "";
        const std::string rule = f == "date"        ? "json-date"
                                 : f == "date-time" ? "json-date \"T\" json-time"
                                 : f == "time"      ? "json-time"
                                 : f == "uuid"      ? "json-uuid"
                                                    : "";
        if (rule.empty()) {
            throw schema_error("format", "unsupported format '" + f + "'");
        }
        return add("format-" + f, "\"\\\"\" " + rule + " \"\\\"\"");
    }
    if (pattern) {
        if (pattern->type != kind::string) {
            throw schema_error("pattern", "pattern must be a string");
        }
        regex_options o;
        o.search = true;
        o.json_string = true;
        o.keyword = "pattern";
        return add("pattern", "\"\\\"\" " + regex_to_gbnf(pattern->text, o) + " \"\\\"\"");
    }
    if (lengths) {
        const std::size_t min = count_keyword(s, "minLength", 0);
        const std::size_t max = count_keyword(s, "maxLength", std::size_t(-1));
        if (max != std::size_t(-1) && max < min) {
            throw schema_error("maxLength", "maxLength is smaller than minLength");
        }
        return add("string", "\"\\\"\" json-char{" + std::to_string(min) + "," +
                                 (max == std::size_t(-1) ? "" : std::to_string(max)) +
                                 "} \"\\\"\"");
    }
    return "json-string";
}

std::string converter::integer(const json_value& s) {
    const auto bounds = integer_bounds(s);
    if (!bounds) {
        return "json-integer";
    }
    return add("integer", integer_range_gbnf(bounds->first, bounds->second));
}

} // namespace

namespace {

std::string rule_lines(const rule_list& rules) {
    std::string out;
    for (const auto& [name, rule] : rules) {
        out += name + " ::= " + rule + "\n";
    }
    return out;
}

} // namespace

std::string json_schema_to_gbnf(const json_value& schema) {
    rule_list rules;
    const std::string body = converter(schema, rules).run();
    return "root ::= " + body + "\n" + rule_lines(rules) + primitives;
}

std::string json_schema_rules(std::span<const std::pair<std::string, std::string>> schemas) {
    rule_list rules;
    std::string own;
    for (const auto& [name, text] : schemas) {
        const json_value schema = parse_json(text);
        own += name + " ::= " + converter(schema, rules).run() + "\n";
    }
    return own + rule_lines(rules) + primitives;
}

std::string json_schema_to_gbnf(std::string_view schema_json) {
    return json_schema_to_gbnf(parse_json(schema_json));
}

std::shared_ptr<const grammar> json_schema_grammar(std::string_view schema_json) {
    const std::string text = json_schema_to_gbnf(schema_json);
    try {
        return grammar::parse(text);
    } catch (const grammar_error& e) {
        throw schema_error("$ref", std::string("the schema's grammar is not usable: ") + e.what());
    }
}

std::shared_ptr<const grammar> json_object_grammar() {
    return grammar::parse(std::string("root ::= json-object\n") + primitives);
}

} // namespace radixrt::runtime
