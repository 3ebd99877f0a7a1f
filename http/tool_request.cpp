// The tool fields of a chat request: tools, tool_choice, parallel_tool_calls.
#include <algorithm>
#include <set>

#include "http/request_parsing.hpp"

namespace radixrt::http {

namespace {

using ojson = nlohmann::ordered_json;

void only_keys(const ojson& o, const std::string& at, std::initializer_list<const char*> keys) {
    for (const auto& item : o.items()) {
        const std::string& k = item.key(); // clang 14: no structured bindings in lambdas
        if (std::none_of(keys.begin(), keys.end(), [&](const char* x) { return k == x; })) {
            throw api_error(400, "invalid_request_error", "unknown_field",
                            "unknown field '" + at + "." + k + "'", at + "." + k);
        }
    }
}

bool valid_name(const std::string& n) {
    return !n.empty() && n.size() <= 64 && std::all_of(n.begin(), n.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
}

tool_function parse_tool(const ojson& t, const std::string& at) {
    if (!t.is_object()) {
        throw invalid(at, "expected {\"type\": \"function\", \"function\": {...}}");
    }
    only_keys(t, at, {"type", "function"});
    if (!t.contains("type") || t["type"] != "function") {
        throw invalid(at + ".type", "only \"function\" tools are supported");
    }
    const auto f = t.find("function");
    if (f == t.end() || !f->is_object()) {
        throw invalid(at + ".function", "required: {\"name\", \"description\", \"parameters\"}");
    }
    only_keys(*f, at + ".function", {"name", "description", "parameters", "strict"});
    tool_function out;
    if (!f->contains("name") || !(*f)["name"].is_string() ||
        !valid_name((*f)["name"].get<std::string>())) {
        throw invalid(at + ".function.name", "required: 1 to 64 letters, digits, '_', '-' or '.'");
    }
    out.name = (*f)["name"].get<std::string>();
    if (auto d = f->find("description"); d != f->end() && !d->is_null() && !d->is_string()) {
        throw invalid(at + ".function.description", "expected a string");
    }
    if (auto s = f->find("strict"); s != f->end() && !s->is_null() && !s->is_boolean()) {
        throw invalid(at + ".function.strict", "expected a boolean");
    }
    if (auto p = f->find("parameters"); p != f->end() && !p->is_null()) {
        if (!p->is_object()) {
            throw invalid(at + ".function.parameters", "expected a JSON Schema object");
        }
        out.parameters = p->dump(-1, ' ', false, ojson::error_handler_t::replace);
    }
    return out;
}

void parse_choice(const ojson& j, tool_options& o) {
    const auto tc = j.find("tool_choice");
    if (tc == j.end() || tc->is_null()) {
        return;
    }
    if (tc->is_string()) {
        const auto s = tc->get<std::string>();
        if (s != "none" && s != "auto" && s != "required") {
            throw invalid("tool_choice", "expected \"none\", \"auto\", \"required\" or "
                                         "{\"type\": \"function\", \"function\": {\"name\"}}");
        }
        o.choice = s == "none"   ? tool_choice::none
                   : s == "auto" ? tool_choice::automatic
                                 : tool_choice::required;
    } else if (tc->is_object()) {
        only_keys(*tc, "tool_choice", {"type", "function"});
        const auto f = tc->find("function");
        if (!tc->contains("type") || (*tc)["type"] != "function" || f == tc->end() ||
            !f->is_object() || !f->contains("name") || !(*f)["name"].is_string()) {
            throw invalid("tool_choice",
                          "expected {\"type\": \"function\", \"function\": {\"name\": ...}}");
        }
        only_keys(*f, "tool_choice.function", {"name"});
        o.choice = tool_choice::named;
        o.named = (*f)["name"].get<std::string>();
    } else {
        throw invalid("tool_choice", "expected a string or an object");
    }
    // "auto" without tools has nothing to choose from, as "none"; a call
    // cannot be required of no tools.
    if ((o.choice == tool_choice::required || o.choice == tool_choice::named) && o.tools.empty()) {
        throw invalid("tool_choice", "tool_choice \"required\" or a named function needs tools");
    }
    if (o.choice == tool_choice::named &&
        std::none_of(o.tools.begin(), o.tools.end(),
                     [&](const tool_function& t) { return t.name == o.named; })) {
        throw invalid("tool_choice.function.name", "no tool named '" + o.named + "' in tools");
    }
}

} // namespace

tool_options parse_tool_options(const nlohmann::ordered_json& j) {
    tool_options o;
    if (auto t = j.find("tools"); t != j.end() && !t->is_null()) {
        if (!t->is_array() || t->size() > 128) {
            throw invalid("tools", "expected an array of at most 128 tool definitions");
        }
        std::set<std::string> names;
        for (std::size_t i = 0; i < t->size(); ++i) {
            const std::string at = "tools[" + std::to_string(i) + "]";
            o.tools.push_back(parse_tool((*t)[i], at));
            if (!names.insert(o.tools.back().name).second) {
                throw invalid(at + ".function.name",
                              "two tools are named '" + o.tools.back().name + "'");
            }
        }
    }
    parse_choice(j, o);
    if (auto p = j.find("parallel_tool_calls"); p != j.end() && !p->is_null()) {
        if (!p->is_boolean()) {
            throw invalid("parallel_tool_calls", "expected true or false");
        }
        o.parallel = p->get<bool>();
    }
    return o;
}

} // namespace radixrt::http
