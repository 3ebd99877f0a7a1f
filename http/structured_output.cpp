#include "http/structured_output.hpp"

#include <algorithm>

namespace radixrt::http {

namespace {

// Sets c from one field; a second constraining field is refused by name.
class one_constraint {
  public:
    explicit one_constraint(std::string prefix) : prefix_(std::move(prefix)) {}
    void set(constraint_kind kind, std::string text, std::string param) {
        if (c_.kind != constraint_kind::none) {
            throw invalid(prefix_ + param, "only one of the structured-output fields may be "
                                           "given; '" +
                                               prefix_ + c_.param + "' already is");
        }
        c_ = {kind, std::move(text), std::move(param)};
    }
    output_constraint take() { return std::move(c_); }

  private:
    std::string prefix_;
    output_constraint c_;
};

// A GBNF or regex text field.
std::string text_field(const json& v, const std::string& param, const char* what) {
    if (!v.is_string()) {
        throw invalid(param, std::string("expected ") + what + " as a string");
    }
    return v.get<std::string>();
}

// response_format.json_schema: {name, schema, strict, description}.
std::string json_schema_format(const json& rf, const std::string& prefix) {
    const std::string at = prefix + "response_format.json_schema";
    const auto js = rf.find("json_schema");
    if (js == rf.end() || !js->is_object()) {
        throw invalid(at, "expected an object {\"name\", \"schema\", \"strict\"}");
    }
    for (const auto& [k, v] : js->items()) {
        if (k != "name" && k != "schema" && k != "strict" && k != "description") {
            throw api_error(400, "invalid_request_error", "unknown_field",
                            "unknown field '" + at + "." + k + "'", at + "." + k);
        }
    }
    if (js->contains("name") && !(*js)["name"].is_string()) {
        throw invalid(at + ".name", "expected a string");
    }
    if (js->contains("strict") && !(*js)["strict"].is_boolean() && !(*js)["strict"].is_null()) {
        throw invalid(at + ".strict", "expected a boolean");
    }
    const auto schema = js->find("schema");
    if (schema == js->end() || !(schema->is_object() || schema->is_boolean())) {
        throw invalid(at + ".schema", "required: a JSON Schema object");
    }
    return dump(*schema);
}

void openai_fields(const json& j, one_constraint& out, const std::string& prefix) {
    if (auto rf = j.find("response_format"); rf != j.end() && !rf->is_null()) {
        if (!rf->is_object() || !rf->contains("type") || !(*rf)["type"].is_string()) {
            throw invalid(prefix + "response_format", "expected an object with a string 'type'");
        }
        const auto type = (*rf)["type"].get<std::string>();
        if (type == "json_object") {
            out.set(constraint_kind::json_object, "", "response_format");
        } else if (type == "json_schema") {
            out.set(constraint_kind::json_schema, json_schema_format(*rf, prefix),
                    "response_format.json_schema.schema");
        } else if (type != "text") {
            throw invalid(prefix + "response_format",
                          "type must be text, json_object or json_schema");
        }
    }
    if (auto g = j.find("grammar"); g != j.end() && !g->is_null()) {
        out.set(constraint_kind::gbnf, text_field(*g, prefix + "grammar", "a GBNF grammar"),
                "grammar");
    }
}

void sglang_fields(const json& j, one_constraint& out, const std::string& prefix) {
    if (auto r = j.find("regex"); r != j.end() && !r->is_null()) {
        out.set(constraint_kind::regex, text_field(*r, prefix + "regex", "a regex"), "regex");
    }
    if (auto s = j.find("json_schema"); s != j.end() && !s->is_null()) {
        if (!s->is_string() && !s->is_object() && !s->is_boolean()) {
            throw invalid(prefix + "json_schema", "expected a JSON Schema (as a JSON string)");
        }
        out.set(constraint_kind::json_schema, s->is_string() ? s->get<std::string>() : dump(*s),
                "json_schema");
    }
    // SGLang's ebnf is read as GBNF (llama.cpp's EBNF dialect); another
    // dialect fails to parse and the engine's 400 names this field.
    for (const char* k : {"ebnf", "grammar"}) {
        if (auto g = j.find(k); g != j.end() && !g->is_null()) {
            out.set(constraint_kind::gbnf,
                    text_field(*g, prefix + k, "a GBNF-compatible EBNF grammar"), k);
        }
    }
}

} // namespace

output_constraint parse_constraint(const json& j, constraint_fields f, const std::string& prefix) {
    one_constraint out(prefix);
    if (f == constraint_fields::openai) {
        openai_fields(j, out, prefix);
    } else {
        sglang_fields(j, out, prefix);
    }
    return out.take();
}

void keep_key_order(output_constraint& c, const std::string& body, const std::string& base) {
    if (c.kind != constraint_kind::json_schema || c.param.empty()) {
        return;
    }
    std::string ptr = base + "/" + c.param;
    std::replace(ptr.begin() + std::ptrdiff_t(base.size()), ptr.end(), '.', '/');
    const auto doc = nlohmann::ordered_json::parse(body, nullptr, false);
    const nlohmann::ordered_json::json_pointer at(ptr);
    if (!doc.is_discarded() && doc.contains(at) && doc.at(at).is_object()) {
        c.text = doc.at(at).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    }
}

} // namespace radixrt::http
