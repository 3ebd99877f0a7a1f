#include "http/call_scanner.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace radixrt::http {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

} // namespace

bool decode_json_string(std::string_view quoted, std::string& out) {
    const auto j = nlohmann::json::parse(quoted, nullptr, false);
    if (j.is_discarded() || !j.is_string()) {
        return false;
    }
    out = j.get<std::string>();
    return true;
}

call_scanner::call_scanner(std::vector<std::string> arg_keys, bool args_only)
    : arg_keys_(std::move(arg_keys)), args_only_(args_only) {}

bool call_scanner::step(char c) {
    switch (state_) {
    case state::start:
        if (is_space(c)) {
            return true;
        }
        if (c != '{') {
            state_ = state::failed;
            return false;
        }
        if (args_only_) { // the whole object is the value
            in_args_ = true;
            args_kind_ = '{';
            begin_value(c);
            return true;
        }
        state_ = state::key_wait;
        return true;
    case state::key_wait:
        if (is_space(c)) {
            return true;
        }
        if (c == '"') {
            key_raw_ = "\"";
            escaped_ = false;
            state_ = state::key;
            return true;
        }
        if (c == '}') {
            state_ = state::done;
            return true;
        }
        state_ = state::failed;
        return false;
    case state::key:
        key_raw_ += c;
        if (escaped_) {
            escaped_ = false;
        } else if (c == '\\') {
            escaped_ = true;
        } else if (c == '"') {
            if (!decode_json_string(key_raw_, key_)) {
                state_ = state::failed;
                return false;
            }
            state_ = state::colon;
        }
        return true;
    case state::colon:
        if (is_space(c)) {
            return true;
        }
        state_ = c == ':' ? state::value_wait : state::failed;
        return c == ':';
    case state::value_wait:
        if (is_space(c)) {
            return true;
        }
        // A second arguments key is skipped, as a second "name" is: the text
        // already streamed as arguments must stay a prefix of the result.
        in_args_ = !args_seen_ &&
                   std::find(arg_keys_.begin(), arg_keys_.end(), key_) != arg_keys_.end();
        args_seen_ = args_seen_ || in_args_;
        begin_value(c);
        return state_ != state::failed;
    case state::value:
        if (kind_ == 'p' && (c == ',' || c == '}' || is_space(c))) {
            end_value(); // a primitive ends at the byte after it, which counts as after it
            return step(c);
        }
        value_byte(c);
        return true;
    case state::after:
        if (is_space(c)) {
            return true;
        }
        if (c == ',') {
            state_ = state::key_wait;
            return true;
        }
        state_ = c == '}' ? state::done : state::failed;
        return c == '}';
    case state::done:
    case state::failed:
        return false;
    }
    return false;
}

void call_scanner::begin_value(char c) {
    value_raw_.clear();
    depth_ = 0;
    in_string_ = false;
    escaped_ = false;
    if (c == ',' || c == '}' || c == ']' || c == ':') {
        state_ = state::failed;
        return;
    }
    kind_ = c == '"' ? '"' : (c == '{' || c == '[') ? '{' : 'p';
    if (in_args_) {
        args_kind_ = kind_;
    }
    state_ = state::value;
    if (kind_ == '"') {
        in_string_ = true;
        value_raw_ += c;
        return;
    }
    if (kind_ == '{') {
        depth_ = 1;
    }
    value_raw_ += c;
    if (in_args_) {
        args_ += c;
    }
}

void call_scanner::value_byte(char c) {
    value_raw_ += c;
    if (in_args_ && kind_ != '"') {
        args_ += c;
    }
    if (in_string_) {
        if (escaped_) {
            escaped_ = false;
        } else if (c == '\\') {
            escaped_ = true;
        } else if (c == '"') {
            in_string_ = false;
            if (kind_ == '"') {
                end_value();
            }
        }
        return;
    }
    if (c == '"') {
        in_string_ = true;
    } else if (c == '{' || c == '[') {
        ++depth_;
    } else if ((c == '}' || c == ']') && --depth_ == 0) {
        end_value();
    }
}

void call_scanner::end_value() {
    state_ = args_only_ ? state::done : state::after;
    if (args_only_) {
        return;
    }
    if (in_args_) {
        in_args_ = false;
        if (kind_ == '"' && !decode_json_string(value_raw_, args_)) {
            state_ = state::failed;
        }
        return;
    }
    std::string text;
    const bool is_text = kind_ == '"' && decode_json_string(value_raw_, text);
    if (key_ == "name" && name_.empty()) { // a second "name" key changes nothing
        if (!is_text || text.empty()) {
            state_ = state::failed; // a call needs a name
            return;
        }
        name_ = std::move(text);
    }
}

} // namespace radixrt::http
