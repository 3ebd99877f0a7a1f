#pragma once
// Chat prompts for the common template families, detected from the GGUF
// tokenizer.chat_template text or chosen in the config. `simple` (the
// documented default for unknown templates) renders
//   "<role>: <content>\n" per message, then "assistant:".
#include <string>
#include <vector>

namespace radixrt::http {

struct chat_message {
    std::string role; // system, user, assistant
    std::string content;
};

enum class chat_format { chatml, llama2, llama3, mistral, zephyr, simple };

/// Family of a Jinja chat template text ("" or unknown: simple).
chat_format detect_chat_format(const std::string& jinja);
chat_format
parse_chat_format(const std::string& name); // config value; "auto" is resolved by the caller
const char* to_string(chat_format f);

/// The prompt text for messages, ending where the assistant's reply starts.
/// BOS is not included (the tokenizer adds it).
std::string render_chat(chat_format f, const std::vector<chat_message>& messages);

} // namespace radixrt::http
