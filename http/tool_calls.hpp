#pragma once
// Tool calls in the call syntax of the model's chat template: the syntax
// detected from the template text, the output parsed into OpenAI
// `tool_calls` (a whole output, or streamed as it arrives), and the grammar
// that enforces a call where the request asks for one.
//
// Syntaxes (docs/tool-calls.md):
//   hermes       <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>   (Hermes 2 Pro,
//                Qwen2.5, the built-in model)
//   llama3       {"name": "f", "parameters": {...}} as the whole answer, or after
//                <|python_tag|>                                              (Llama 3.1-3.3)
//   mistral      [TOOL_CALLS][{"name": "f", "arguments": {...}}, ...]        (Mistral Nemo)
//   functionary  <function=f>{...}</function>                                (Functionary v3.1)
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/call_scanner.hpp"
#include "radixrt/request.hpp"

namespace radixrt::http {

enum class tool_format { none, hermes, llama3, mistral, functionary };
const char* to_string(tool_format f);

/// The call syntax a chat template teaches its model; none when the
/// template cannot show tools to the model.
tool_format detect_tool_format(std::string_view template_text);

/// One `tools[i]` of a request.
struct tool_function {
    std::string name;
    std::string parameters; ///< its JSON Schema as JSON text, key order kept
};

enum class tool_choice { none, automatic, required, named };

/// What a chat request asks of tool calls.
struct tool_options {
    std::vector<tool_function> tools;
    tool_choice choice = tool_choice::automatic;
    std::string named;    ///< tool_choice {"type": "function", "function": {"name"}}
    bool parallel = true; ///< parallel_tool_calls
    bool any() const { return !tools.empty() && choice != tool_choice::none; }
};

/// The constraint that enforces the request's choice in the format:
/// required or named: the output is one call (or several, when parallel)
/// and nothing else; automatic: free text, but once the model starts a
/// call (the format's opening marker) the rest must be calls. Its param
/// names `tools[i].function.parameters` for a schema the grammar engine
/// refuses. Kind none when no call is asked for.
expected<output_constraint> tool_call_constraint(tool_format f, const tool_options& o);

/// Control tokens the format's calls use ([TOOL_CALLS], <|python_tag|>):
/// the request shows them as text so that calls can be parsed.
std::vector<std::string> tool_preserved_tokens(tool_format f);

/// An id for a call the model did not name: "call_" and 24 letters or
/// digits; 9 letters or digits for mistral (its template insists).
std::string new_tool_call_id(tool_format f);

/// What a piece of output turns into.
struct tool_event {
    enum class kind { content, call_begin, arguments, call_end };
    kind what = kind::content;
    std::size_t index = 0; ///< of the call (call_begin, arguments, call_end: it ended properly)
    std::string text;      ///< content text, the call's name, or an arguments fragment
    std::string id;        ///< call_begin: the call's id
};

/// Splits a model's output, as it streams, into content and calls: content
/// is released as soon as it cannot be the start of a call marker; a call
/// begins (with its name) once its name is read, then its arguments follow
/// in fragments whose concatenation is the arguments' JSON text. White
/// space between calls and around them is not content.
class tool_call_parser {
  public:
    explicit tool_call_parser(tool_format f);
    std::vector<tool_event> push(std::string_view text);
    /// The end of the output: whatever was held back.
    std::vector<tool_event> finish();
    /// Calls whose text ended properly (a call cut off by max_tokens does not count).
    std::size_t complete_calls() const { return complete_; }
    /// Some call has begun (its name was sent).
    bool any_call() const { return index_ > 0 || began_; }

  private:
    enum class mode { content, tag_name, array_open, call, array_next, after_call };
    struct syntax;
    static const syntax* syntax_of(tool_format f);

    void advance(std::vector<tool_event>& out);
    bool take_content(std::vector<tool_event>& out);
    bool take_tag_name();
    bool take_array_open();
    bool feed_call(std::vector<tool_event>& out);
    bool take_after_call(bool array_next);
    void start_call(bool args_only);
    void fail_call(std::vector<tool_event>& out);
    void emit_content(std::vector<tool_event>& out, std::string text);
    void emit_progress(std::vector<tool_event>& out);

    tool_format format_;
    const syntax* syn_;
    mode mode_ = mode::content;
    std::string buf_;        // text not consumed yet
    std::string raw_;        // the current call's text, given back as content if it fails
    bool seen_text_ = false; // some content other than white space was released
    bool began_ = false;     // the current call's call_begin was sent
    std::size_t args_sent_ = 0;
    std::size_t index_ = 0, complete_ = 0;
    std::string tag_name_;
    std::unique_ptr<call_scanner> scan_;
};

/// A whole output: content (empty when there was none but white space) and calls.
struct parsed_call {
    std::string id, name, arguments;
    bool complete = false;
};
struct parsed_output {
    std::string content;
    std::vector<parsed_call> calls;
};
parsed_output parse_tool_calls(tool_format f, std::string_view text);

} // namespace radixrt::http
