#pragma once
// Reads one JSON object holding a tool call ({"name": "f", "arguments":
// {...}}) a byte at a time, as a model writes it, so that the call's name
// and its arguments' text can be streamed before the object is complete.
// Only the top level is interpreted: the name and the arguments value,
// whose raw JSON text is the OpenAI `function.arguments` string; other keys
// (Mistral's own "id") and repeats of the name or arguments key are skipped.
#include <string>
#include <string_view>
#include <vector>

namespace radixrt::http {

class call_scanner {
  public:
    /// arg_keys: the keys that hold the arguments ("arguments", "parameters").
    /// args_only: the object itself is the arguments (Functionary writes the
    /// name in its tag).
    explicit call_scanner(std::vector<std::string> arg_keys, bool args_only = false);

    /// Takes one byte; false once the object is complete or malformed (the
    /// byte was not taken then, except the closing brace).
    bool step(char c);

    bool complete() const { return state_ == state::done; }
    bool failed() const { return state_ == state::failed; }
    /// The name, once its string has been read (empty until then).
    const std::string& name() const { return name_; }
    /// The arguments' JSON text read so far (an object or array as written;
    /// a string-valued arguments field is given decoded once complete).
    /// Streamable (grows by appending) unless the value is a string.
    const std::string& arguments() const { return args_; }
    /// The arguments value is a string (its text appears only at the end).
    bool string_arguments() const { return args_kind_ == '"'; }

  private:
    enum class state { start, key_wait, key, colon, value_wait, value, after, done, failed };

    void begin_value(char c);
    void value_byte(char c);
    void end_value();

    std::vector<std::string> arg_keys_;
    bool args_only_;
    state state_ = state::start;
    std::string key_raw_, key_, value_raw_;
    char kind_ = 0; // current value: '"' string, '{' object or array, 'p' primitive
    int depth_ = 0; // inside an object or array value
    bool in_string_ = false, escaped_ = false;
    bool in_args_ = false, args_seen_ = false;
    char args_kind_ = 0;
    std::string name_, args_;
};

/// Decodes a JSON string's text (with its quotes); false if it is not one.
bool decode_json_string(std::string_view quoted, std::string& out);

} // namespace radixrt::http
