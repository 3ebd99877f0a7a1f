#pragma once
// The chat prompt of a request: the model's Jinja chat template (GGUF
// tokenizer.chat_template, or a .jinja file from the config) rendered by the
// interpreter in jinja/, as transformers renders it; the built-in families
// of chat_template.hpp only for models without a template.
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "http/chat_template.hpp"
#include "http/tool_calls.hpp"
#include "jinja/template.hpp"
#include "radixrt/introspection.hpp"

namespace radixrt::http {

/// What a template is rendered with. Values are passed to the template as
/// the client gave them (tool_calls, tool messages, tools).
struct chat_inputs {
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    nlohmann::ordered_json tools;      ///< null: none given
    nlohmann::ordered_json extra_vars; ///< chat_template_kwargs (an object, or null)
    bool add_generation_prompt = true;
};

/// A rendered prompt and how to tokenize it.
struct chat_prompt_text {
    std::string text;
    bool add_bos = true;       ///< false when the text already starts with the BOS text
    bool parse_special = true; ///< control-token texts become their ids
};

class chat_prompt {
  public:
    /// setting: "auto" (the model's template, else its detected family),
    /// a family name, or a path to a .jinja file. Throws std::runtime_error
    /// for an unreadable file or a template that does not parse.
    static chat_prompt from_config(const std::string& setting, const model_info& model);
    /// A template text given with a request (throws api_error 400 if it does
    /// not parse). It renders under a tighter budget than the model's own
    /// template (1M steps, 1 MiB), since any client can send one.
    static chat_prompt from_text(const std::string& text, const model_info& model);

    /// Throws api_error 400 with the template's message when the template
    /// refuses the conversation (raise_exception) or fails.
    chat_prompt_text render(const chat_inputs& in) const;
    /// "jinja" or the family's name, for logs.
    std::string describe() const;
    /// The call syntax the template teaches its model (none: it shows no tools).
    tool_format tool_syntax() const { return tools_; }

  private:
    std::shared_ptr<const jinja::template_> template_; // null: family_
    jinja::render_options limits_;                     // the interpreter's defaults
    chat_format family_ = chat_format::simple;
    std::string bos_text_, eos_text_;
    tool_format tools_ = tool_format::none;
    // OpenAI clients send tool-call arguments as a JSON string; templates
    // that write them with tojson want the object (probed at load).
    bool object_arguments_ = false;

    void probe_tool_arguments();
};

} // namespace radixrt::http
