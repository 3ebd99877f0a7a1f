#pragma once
// An independent JSON Schema validator for the keywords the grammar tests
// use (not a general one): checks what the grammars produce.
#include <algorithm>
#include <chrono>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

namespace radixrt::test {

using nlohmann::json;

class validator {
  public:
    explicit validator(json root) : root_(std::move(root)) {}
    bool valid(const json& v) const { return check(root_, v); }

  private:
    static std::size_t code_points(const std::string& s) {
        std::size_t n = 0;
        for (unsigned char c : s) {
            n += (c & 0xC0) != 0x80;
        }
        return n;
    }
    static bool real_date(const std::string& s) {
        const std::regex re(R"(\d{4}-\d{2}-\d{2})");
        if (!std::regex_match(s, re)) {
            return false;
        }
        const std::chrono::year_month_day d{std::chrono::year(std::stoi(s.substr(0, 4))),
                                            std::chrono::month(unsigned(std::stoi(s.substr(5, 2)))),
                                            std::chrono::day(unsigned(std::stoi(s.substr(8, 2))))};
        return d.ok();
    }
    static bool format_ok(const std::string& f, const std::string& s) {
        if (f == "date") {
            return real_date(s);
        }
        if (f == "uuid") {
            return std::regex_match(
                s, std::regex("[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"));
        }
        if (f == "date-time") {
            const std::regex re(
                R"((\d{4}-\d\d-\d\d)T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))");
            std::smatch m;
            return std::regex_match(s, m, re) && real_date(m[1].str());
        }
        return false;
    }
    bool type_ok(const std::string& t, const json& v) const {
        return (t == "object" && v.is_object()) || (t == "array" && v.is_array()) ||
               (t == "string" && v.is_string()) || (t == "number" && v.is_number()) ||
               (t == "integer" && v.is_number_integer()) || (t == "boolean" && v.is_boolean()) ||
               (t == "null" && v.is_null());
    }
    bool check(const json& s, const json& v) const {
        if (s.contains("$ref")) {
            const std::string ref = s["$ref"];
            return check(root_["$defs"][ref.substr(ref.rfind('/') + 1)], v);
        }
        if (s.contains("anyOf")) {
            for (const auto& sub : s["anyOf"]) {
                if (check(sub, v)) {
                    return true;
                }
            }
            return false;
        }
        if (s.contains("oneOf")) {
            int n = 0;
            for (const auto& sub : s["oneOf"]) {
                n += check(sub, v);
            }
            return n == 1;
        }
        if (s.contains("const") && s["const"] != v) {
            return false;
        }
        if (s.contains("enum") &&
            std::find(s["enum"].begin(), s["enum"].end(), v) == s["enum"].end()) {
            return false;
        }
        if (s.contains("type")) {
            bool any = false;
            for (const auto& t : s["type"].is_array() ? s["type"] : json::array({s["type"]})) {
                any = any || type_ok(t.get<std::string>(), v);
            }
            if (!any) {
                return false;
            }
        }
        if (v.is_string()) {
            const std::string str = v;
            const auto n = code_points(str);
            if ((s.contains("minLength") && n < s["minLength"]) ||
                (s.contains("maxLength") && n > s["maxLength"]) ||
                (s.contains("pattern") &&
                 !std::regex_search(str, std::regex(s["pattern"].get<std::string>()))) ||
                (s.contains("format") && !format_ok(s["format"], str))) {
                return false;
            }
        }
        if (v.is_number()) {
            const double x = v;
            if ((s.contains("minimum") && x < s["minimum"]) ||
                (s.contains("maximum") && x > s["maximum"]) ||
                (s.contains("exclusiveMinimum") && x <= s["exclusiveMinimum"]) ||
                (s.contains("exclusiveMaximum") && x >= s["exclusiveMaximum"])) {
                return false;
            }
        }
        if (v.is_array()) {
            if ((s.contains("minItems") && v.size() < s["minItems"]) ||
                (s.contains("maxItems") && v.size() > s["maxItems"])) {
                return false;
            }
            for (const auto& item : v) {
                if (s.contains("items") && !check(s["items"], item)) {
                    return false;
                }
            }
        }
        if (v.is_object()) {
            for (const auto& r : s.value("required", json::array())) {
                if (!v.contains(r.get<std::string>())) {
                    return false;
                }
            }
            const json props = s.value("properties", json::object());
            for (const auto& [k, item] : v.items()) {
                if (props.contains(k)) {
                    if (!check(props[k], item)) {
                        return false;
                    }
                } else if (s.contains("additionalProperties")) {
                    const auto& ap = s["additionalProperties"];
                    if (ap.is_boolean() ? !ap.get<bool>() : !check(ap, item)) {
                        return false;
                    }
                }
            }
        }
        return true;
    }
    json root_;
};

} // namespace radixrt::test
