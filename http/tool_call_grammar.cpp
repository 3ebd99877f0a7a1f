// Call syntaxes of chat templates: detection, call ids, and the grammar that
// enforces a call (http/tool_calls.hpp).
#include <random>

#include "http/tool_calls.hpp"
#include "radixrt/grammar.hpp"

namespace radixrt::http {

const char* to_string(tool_format f) {
    switch (f) {
    case tool_format::hermes:
        return "hermes";
    case tool_format::llama3:
        return "llama3";
    case tool_format::mistral:
        return "mistral";
    case tool_format::functionary:
        return "functionary";
    case tool_format::none:
        return "none";
    }
    return "none";
}

tool_format detect_tool_format(std::string_view t) {
    const auto has = [&](std::string_view s) { return t.find(s) != std::string_view::npos; };
    if (!has("tools")) {
        return tool_format::none; // the model never sees a tool list
    }
    if (has("<tool_call>")) {
        return tool_format::hermes;
    }
    if (has("[TOOL_CALLS]")) {
        return tool_format::mistral;
    }
    if (has("<function=")) {
        return tool_format::functionary;
    }
    if (has("<|start_header_id|>") && has("\"parameters\"")) {
        return tool_format::llama3;
    }
    return tool_format::none;
}

std::vector<std::string> tool_preserved_tokens(tool_format f) {
    switch (f) {
    case tool_format::hermes:
        return {"<tool_call>", "</tool_call>"};
    case tool_format::llama3:
    case tool_format::functionary:
        return {"<|python_tag|>"};
    case tool_format::mistral:
        return {"[TOOL_CALLS]"};
    case tool_format::none:
        return {};
    }
    return {};
}

std::string new_tool_call_id(tool_format f) {
    static thread_local std::mt19937_64 g{std::random_device{}()};
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const bool short_id = f == tool_format::mistral;
    std::string id = short_id ? "" : "call_";
    for (int i = 0; i < (short_id ? 9 : 24); ++i) {
        id += alnum[g() % (sizeof alnum - 1)];
    }
    return id;
}

namespace {

// One tool's call in the format, around its arguments rule.
std::string call_rule(tool_format f, const std::string& name, const std::string& args) {
    const std::string quoted = "\"" + name + "\""; // names are [A-Za-z0-9_.-]
    switch (f) {
    case tool_format::hermes:
        return gbnf_literal("{\"name\": " + quoted + ", \"arguments\": ") + " " + args + " " +
               gbnf_literal("}");
    case tool_format::mistral: // Nemo writes a 9-character id of its own after the arguments
        return gbnf_literal("{\"name\": " + quoted + ", \"arguments\": ") + " " + args + " " +
               gbnf_literal(", \"id\": \"") + " [a-zA-Z0-9]{9} " + gbnf_literal("\"}");
    case tool_format::llama3:
        return gbnf_literal("{\"name\": " + quoted + ", \"parameters\": ") + " " + args + " " +
               gbnf_literal("}");
    case tool_format::functionary:
        return gbnf_literal("<function=" + name + ">") + " " + args + " " +
               gbnf_literal("</function>");
    case tool_format::none:
        break;
    }
    return "";
}

// root: one call, or several when parallel, in the format's framing.
std::string root_rule(tool_format f, bool parallel) {
    switch (f) {
    case tool_format::hermes: {
        const std::string one = "\"<tool_call>\\n\" call \"\\n</tool_call>\"";
        return parallel ? one + " ( \"\\n\" " + one + " )*" : one;
    }
    case tool_format::mistral:
        return std::string("\"[TOOL_CALLS][\" call ") +
               (parallel ? "( \",\" \" \"? call )* " : "") + "\"]\"";
    case tool_format::llama3:
        return std::string("\"<|python_tag|>\"? call") + (parallel ? " ( \"; \" call )*" : "");
    case tool_format::functionary:
        return parallel ? "call+" : "call";
    case tool_format::none:
        break;
    }
    return "";
}

std::vector<constraint_trigger> triggers_of(tool_format f) {
    switch (f) {
    case tool_format::hermes:
        return {{"<tool_call>", false}};
    case tool_format::mistral:
        return {{"[TOOL_CALLS]", false}};
    case tool_format::llama3:
        return {{"{", true}, {"<|python_tag|>", false}};
    case tool_format::functionary:
        return {{"<function=", false}};
    case tool_format::none:
        break;
    }
    return {};
}

} // namespace

expected<output_constraint> tool_call_constraint(tool_format f, const tool_options& o) {
    if (!o.any() || f == tool_format::none) {
        return output_constraint{};
    }
    std::vector<named_schema> schemas;
    std::vector<std::size_t> index; // tools[index[k]] is the k-th schema
    for (std::size_t i = 0; i < o.tools.size(); ++i) {
        if (o.choice == tool_choice::named && o.tools[i].name != o.named) {
            continue;
        }
        const auto& p = o.tools[i].parameters;
        schemas.push_back({"tool-" + std::to_string(i) + "-args", p.empty() ? "{}" : p});
        index.push_back(i);
    }
    auto rules = json_schema_rules(schemas);
    if (!rules) {
        auto e = rules.error();
        for (std::size_t k = 0; k < schemas.size(); ++k) {
            if (e.param == schemas[k].rule) {
                e.param = "tools[" + std::to_string(index[k]) + "].function.parameters";
            }
        }
        return e;
    }
    std::string text = "root ::= " + root_rule(f, o.parallel) + "\ncall ::= ";
    for (std::size_t k = 0; k < schemas.size(); ++k) {
        text += (k ? " | tool-" : "tool-") + std::to_string(index[k]);
    }
    text += "\n";
    for (std::size_t k = 0; k < schemas.size(); ++k) {
        text += "tool-" + std::to_string(index[k]) +
                " ::= " + call_rule(f, o.tools[index[k]].name, schemas[k].rule) + "\n";
    }
    output_constraint c{constraint_kind::gbnf, text + *rules, "tools", {}};
    if (o.choice == tool_choice::automatic) {
        c.triggers = triggers_of(f);
    }
    return c;
}

} // namespace radixrt::http
