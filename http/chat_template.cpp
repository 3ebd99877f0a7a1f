#include "http/chat_template.hpp"

namespace radixrt::http {

chat_format detect_chat_format(const std::string& t) {
    if (t.find("<|im_start|>") != std::string::npos) {
        return chat_format::chatml;
    }
    if (t.find("<|start_header_id|>") != std::string::npos) {
        return chat_format::llama3;
    }
    if (t.find("<|user|>") != std::string::npos) {
        return chat_format::zephyr;
    }
    if (t.find("[INST]") != std::string::npos) {
        return t.find("<<SYS>>") != std::string::npos ? chat_format::llama2 : chat_format::mistral;
    }
    return chat_format::simple;
}

chat_format parse_chat_format(const std::string& n) {
    for (auto f : {chat_format::chatml, chat_format::llama2, chat_format::llama3,
                   chat_format::mistral, chat_format::zephyr, chat_format::simple}) {
        if (n == to_string(f)) {
            return f;
        }
    }
    return chat_format::simple;
}

const char* to_string(chat_format f) {
    switch (f) {
    case chat_format::chatml:
        return "chatml";
    case chat_format::llama2:
        return "llama2";
    case chat_format::llama3:
        return "llama3";
    case chat_format::mistral:
        return "mistral";
    case chat_format::zephyr:
        return "zephyr";
    case chat_format::simple:
        return "simple";
    }
    return "simple";
}

std::string render_chat(chat_format f, const std::vector<chat_message>& msgs) {
    std::string out;
    switch (f) {
    case chat_format::chatml:
        for (const auto& m : msgs) {
            out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
        }
        return out + "<|im_start|>assistant\n";
    case chat_format::llama3:
        for (const auto& m : msgs) {
            out +=
                "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
        }
        return out + "<|start_header_id|>assistant<|end_header_id|>\n\n";
    case chat_format::zephyr:
        for (const auto& m : msgs) {
            out += "<|" + m.role + "|>\n" + m.content + "</s>\n";
        }
        return out + "<|assistant|>\n";
    case chat_format::llama2:
    case chat_format::mistral: {
        // [INST] user [/INST] assistant </s>; llama2 folds the system prompt
        // into the first user turn with <<SYS>>, mistral prepends it plainly.
        std::string system;
        bool first = true;
        for (const auto& m : msgs) {
            if (m.role == "system") {
                system = m.content;
            } else if (m.role == "user") {
                std::string content = m.content;
                if (first && !system.empty()) {
                    content = f == chat_format::llama2
                                  ? "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content
                                  : system + "\n\n" + content;
                }
                out += std::string(first ? "" : "<s>") + "[INST] " + content + " [/INST]";
                first = false;
            } else {
                out += " " + m.content + " </s>";
            }
        }
        return out;
    }
    case chat_format::simple:
        break;
    }
    for (const auto& m : msgs) {
        out += m.role + ": " + m.content + "\n";
    }
    return out + "assistant:";
}

} // namespace radixrt::http
