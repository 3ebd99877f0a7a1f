#include "http/chat_prompt.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "http/api_error.hpp"

namespace radixrt::http {

namespace {

using ojson = nlohmann::ordered_json;

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        throw std::runtime_error("cannot read the chat template file '" + path + "'");
    }
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

bool is_family(const std::string& s) {
    for (auto f : {chat_format::chatml, chat_format::llama2, chat_format::llama3,
                   chat_format::mistral, chat_format::zephyr, chat_format::simple}) {
        if (s == to_string(f)) {
            return true;
        }
    }
    return false;
}

// The families take plain {role, content} text messages.
std::vector<chat_message> plain_messages(const ojson& messages) {
    std::vector<chat_message> out;
    for (const auto& m : messages) {
        const auto c = m.find("content");
        out.push_back(
            {m.value("role", ""), c != m.end() && c->is_string() ? c->get<std::string>() : ""});
    }
    return out;
}

// The families have no way to write tools or tool calls: refused, not dropped.
void refuse_tools(const chat_inputs& in, const std::string& family) {
    const std::string why = "the '" + family +
                            "' chat format cannot render tools or tool calls; serve a model "
                            "whose chat template can, or set model.chat_template to a .jinja file";
    if (in.tools.is_array() && !in.tools.empty()) {
        throw invalid("tools", why);
    }
    for (std::size_t i = 0; i < in.messages.size(); ++i) {
        if (auto t = in.messages[i].find("tool_calls");
            t != in.messages[i].end() && t->is_array() && !t->empty()) {
            throw invalid("messages[" + std::to_string(i) + "].tool_calls", why);
        }
    }
}

// Tool calls' arguments given as JSON strings, parsed to the objects they
// hold (a string that is no JSON object stays as it is).
ojson with_object_arguments(const ojson& messages) {
    ojson out = messages;
    for (auto& m : out) {
        auto calls = m.find("tool_calls");
        if (calls == m.end() || !calls->is_array()) {
            continue;
        }
        for (auto& c : *calls) {
            if (!c.is_object() || !c.contains("function") || !c["function"].is_object()) {
                continue;
            }
            auto& f = c["function"];
            if (auto a = f.find("arguments"); a != f.end() && a->is_string()) {
                auto parsed = ojson::parse(a->get<std::string>(), nullptr, false);
                if (!parsed.is_discarded() && parsed.is_object()) {
                    *a = std::move(parsed);
                }
            }
        }
    }
    return out;
}

} // namespace

chat_prompt chat_prompt::from_config(const std::string& setting, const model_info& model) {
    chat_prompt p;
    p.bos_text_ = model.bos_text;
    p.eos_text_ = model.eos_text;
    if (is_family(setting)) {
        p.family_ = parse_chat_format(setting);
        return p;
    }
    const std::string text = setting == "auto" ? model.chat_template : read_file(setting);
    if (text.empty()) {
        p.family_ = chat_format::simple;
        return p;
    }
    try {
        p.template_ = std::make_shared<const jinja::template_>(jinja::template_::parse(text));
        p.tools_ = detect_tool_format(text);
        p.probe_tool_arguments();
    } catch (const jinja::error& e) {
        if (setting != "auto") {
            throw std::runtime_error("the chat template '" + setting +
                                     "' does not parse: " + e.what());
        }
        // A GGUF template this interpreter cannot read: the detected family
        // still gives a usable prompt.
        p.family_ = detect_chat_format(text);
    }
    return p;
}

chat_prompt chat_prompt::from_text(const std::string& text, const model_info& model) {
    chat_prompt p;
    p.bos_text_ = model.bos_text;
    p.eos_text_ = model.eos_text;
    try {
        p.template_ = std::make_shared<const jinja::template_>(jinja::template_::parse(text));
    } catch (const jinja::error& e) {
        throw invalid("chat_template",
                      std::string("the chat template does not parse: ") + e.what());
    }
    // Tighter than the model's own template's budget: any client can send one.
    p.limits_.max_steps = 1'000'000;
    p.limits_.max_output_bytes = 1u << 20;
    p.tools_ = detect_tool_format(text);
    p.probe_tool_arguments();
    return p;
}

// Renders an assistant turn whose call has arguments as a JSON string and
// as an object: a template that shows the string verbatim takes strings
// (Hermes, Functionary, DeepSeek); one that only shows the object's
// members (tojson: Qwen2.5, Llama 3.1, Mistral Nemo) gets objects.
void chat_prompt::probe_tool_arguments() {
    const ojson args = {{"probe_arg", "probe_value"}};
    const std::string text = args.dump(); // {"probe_arg":"probe_value"}
    const auto render_with = [&](const ojson& a) {
        ojson call = {{"id", "call00001"},
                      {"type", "function"},
                      {"function", {{"name", "probe_fn"}, {"arguments", a}}}};
        ojson ctx = {{"messages", ojson::array({{{"role", "user"}, {"content", "x"}},
                                                {{"role", "assistant"},
                                                 {"content", ""},
                                                 {"tool_calls", ojson::array({call})}}})},
                     {"add_generation_prompt", false},
                     {"bos_token", bos_text_},
                     {"eos_token", eos_text_}};
        try {
            return template_->render(ctx, limits_);
        } catch (const jinja::error&) {
            return std::string();
        }
    };
    const bool strings_shown = render_with(text).find(text) != std::string::npos;
    const std::string objects = render_with(args);
    object_arguments_ = !strings_shown && objects.find("probe_value") != std::string::npos;
}

chat_prompt_text chat_prompt::render(const chat_inputs& in) const {
    chat_prompt_text out;
    if (!template_) {
        refuse_tools(in, to_string(family_));
        out.text = render_chat(family_, plain_messages(in.messages));
        out.parse_special = false; // as before: the families' text is tokenized as text
        return out;
    }
    ojson ctx = ojson::object();
    if (in.extra_vars.is_object()) {
        for (const auto& [k, v] : in.extra_vars.items()) {
            ctx[k] = v;
        }
    }
    ctx["messages"] = object_arguments_ ? with_object_arguments(in.messages) : in.messages;
    if (!in.tools.is_null()) {
        ctx["tools"] = in.tools;
    }
    ctx["add_generation_prompt"] = in.add_generation_prompt;
    ctx["bos_token"] = bos_text_;
    ctx["eos_token"] = eos_text_;
    try {
        out.text = template_->render(ctx, limits_);
    } catch (const jinja::error& e) {
        throw api_error(400, "invalid_request_error", "chat_template_error",
                        e.kind() == jinja::error_kind::raised
                            ? e.message()
                            : std::string("chat template: ") + e.what(),
                        "messages");
    }
    // Templates usually write BOS themselves; the tokenizer must not add a
    // second one (llama.cpp and vLLM avoid the same duplicate).
    out.add_bos = bos_text_.empty() || out.text.compare(0, bos_text_.size(), bos_text_) != 0;
    return out;
}

std::string chat_prompt::describe() const {
    return template_ ? "jinja" : to_string(family_);
}

} // namespace radixrt::http
