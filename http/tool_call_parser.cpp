// Model output -> content and tool calls, per call syntax (http/tool_calls.hpp).
#include <algorithm>

#include "http/tool_calls.hpp"

namespace radixrt::http {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool all_space(std::string_view s) {
    return std::all_of(s.begin(), s.end(), is_space);
}

struct opener {
    std::string text;
    bool at_start = false;  // only as the output's first text
    bool in_object = false; // the opener is the call object's first byte
};

} // namespace

// How one format writes its calls.
struct tool_call_parser::syntax {
    std::vector<opener> openers;
    bool array = false;       // a JSON array of call objects follows the opener
    bool name_in_tag = false; // the opener, the name, '>', then the arguments object
    std::string closer;       // ends each call (tolerated when missing)
    std::string separator;    // may stand between two calls, besides white space
    std::vector<std::string> arg_keys;
};

tool_call_parser::tool_call_parser(tool_format f) : format_(f), syn_(syntax_of(f)) {}

std::vector<tool_event> tool_call_parser::push(std::string_view text) {
    std::vector<tool_event> out;
    buf_.append(text);
    advance(out);
    return out;
}

void tool_call_parser::advance(std::vector<tool_event>& out) {
    while (true) {
        bool more = false;
        switch (mode_) {
        case mode::content:
            more = take_content(out);
            break;
        case mode::tag_name:
        case mode::array_open:
            more = mode_ == mode::tag_name ? take_tag_name() : take_array_open();
            if (!more && mode_ == mode::content) { // not a call after all
                fail_call(out);
                more = true;
            }
            break;
        case mode::call:
            more = feed_call(out);
            break;
        case mode::array_next:
        case mode::after_call:
            more = take_after_call(mode_ == mode::array_next);
            break;
        }
        if (!more) {
            return;
        }
    }
}

void tool_call_parser::emit_content(std::vector<tool_event>& out, std::string text) {
    if (text.empty()) {
        return;
    }
    if (!out.empty() && out.back().what == tool_event::kind::content) {
        out.back().text += text;
    } else {
        out.push_back({tool_event::kind::content, 0, std::move(text), {}});
    }
}

// Content mode: release text up to the earliest call opener (or up to what
// could still become one); true when an opener was taken. White space at
// the end of released content waits: before a call it is dropped, so the
// split does not depend on how the text arrives.
bool tool_call_parser::take_content(std::vector<tool_event>& out) {
    if (!syn_) {
        emit_content(out, std::move(buf_));
        buf_.clear();
        return false;
    }
    std::size_t at = std::string::npos;
    const opener* found = nullptr;
    for (const auto& o : syn_->openers) {
        std::size_t p = std::string::npos;
        if (o.at_start) {
            const std::size_t lead = buf_.find_first_not_of(" \t\r\n");
            if (!seen_text_ && lead != std::string::npos &&
                buf_.compare(lead, o.text.size(), o.text) == 0) {
                p = lead;
            }
        } else {
            p = buf_.find(o.text);
        }
        if (p < at) {
            at = p;
            found = &o;
        }
    }
    std::size_t cut = found ? at : buf_.size();
    if (!found) {
        std::size_t keep = 0; // a tail that may be the start of an opener
        for (const auto& o : syn_->openers) {
            for (std::size_t n = std::min(o.text.size() - 1, buf_.size()); n > keep; --n) {
                if (buf_.compare(buf_.size() - n, n, o.text, 0, n) == 0) {
                    keep = n;
                    break;
                }
            }
        }
        cut -= keep;
    }
    std::size_t end = cut;
    while (end > 0 && is_space(buf_[end - 1])) {
        --end;
    }
    if (end > 0) {
        seen_text_ = true;
        emit_content(out, buf_.substr(0, end));
    }
    if (!found) {
        buf_.erase(0, end);
        return false;
    }
    const std::size_t skip = found->in_object ? 0 : found->text.size();
    raw_ = buf_.substr(at, skip);
    buf_.erase(0, at + skip);
    if (syn_->name_in_tag) {
        tag_name_.clear();
        mode_ = mode::tag_name;
    } else if (syn_->array) {
        mode_ = mode::array_open;
    } else {
        start_call(false);
    }
    return true;
}

// Functionary's <function=NAME>: the name up to '>'.
bool tool_call_parser::take_tag_name() {
    const std::size_t end = buf_.find('>');
    const std::size_t upto = std::min(end, buf_.size());
    for (std::size_t i = 0; i < upto; ++i) {
        const char c = buf_[i];
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
            mode_ = mode::content;
            return false;
        }
    }
    constexpr std::size_t longest = 64; // as tool names (http/tool_request.cpp)
    if (upto > longest) {
        mode_ = mode::content;
        return false;
    }
    if (end == std::string::npos) {
        return false;
    }
    tag_name_ = buf_.substr(0, end);
    raw_ += buf_.substr(0, end + 1);
    buf_.erase(0, end + 1);
    if (tag_name_.empty()) {
        mode_ = mode::content;
        return false;
    }
    start_call(true);
    return true;
}

bool tool_call_parser::take_array_open() {
    const std::size_t lead = buf_.find_first_not_of(" \t\r\n");
    if (lead == std::string::npos) {
        return false;
    }
    if (buf_[lead] != '[') {
        mode_ = mode::content;
        return false;
    }
    raw_ += buf_.substr(0, lead + 1);
    buf_.erase(0, lead + 1);
    start_call(false);
    return true;
}

void tool_call_parser::start_call(bool args_only) {
    scan_ = std::make_unique<call_scanner>(syn_->arg_keys, args_only);
    began_ = false;
    args_sent_ = 0;
    mode_ = mode::call;
}

// A call that did not parse: given back as content if nothing of it was sent.
void tool_call_parser::fail_call(std::vector<tool_event>& out) {
    if (!began_) {
        seen_text_ = seen_text_ || !all_space(raw_);
        emit_content(out, std::move(raw_));
    } else {
        ++index_; // a broken call stays as sent
    }
    raw_.clear();
    began_ = false;
    mode_ = mode::content;
}

bool tool_call_parser::feed_call(std::vector<tool_event>& out) {
    std::size_t used = 0;
    for (; used < buf_.size() && !scan_->complete() && !scan_->failed(); ++used) {
        if (!scan_->step(buf_[used])) {
            break;
        }
    }
    raw_.append(buf_, 0, used);
    buf_.erase(0, used);
    // What was read before a failure counts as sent, as it would have been
    // had the text arrived in pieces: the split must not depend on that.
    emit_progress(out);
    if (scan_->failed()) {
        fail_call(out);
        return true;
    }
    if (!scan_->complete()) {
        return false;
    }
    if (!began_) { // an object without a name (a JSON answer): content after all
        fail_call(out);
        return true;
    }
    out.push_back({tool_event::kind::call_end, index_, {}, {}});
    ++index_;
    ++complete_;
    raw_.clear();
    began_ = false;
    mode_ = syn_->array ? mode::array_next : mode::after_call;
    return true;
}

void tool_call_parser::emit_progress(std::vector<tool_event>& out) {
    const std::string& name = syn_->name_in_tag ? tag_name_ : scan_->name();
    if (!began_ && !name.empty()) {
        out.push_back({tool_event::kind::call_begin, index_, name, new_tool_call_id(format_)});
        began_ = true;
    }
    if (!began_ || (scan_->string_arguments() && !scan_->complete())) {
        return;
    }
    std::string args = scan_->arguments();
    if (scan_->complete() && args.empty()) {
        args = "{}"; // no arguments written: none
    }
    if (args.size() > args_sent_) {
        out.push_back({tool_event::kind::arguments, index_, args.substr(args_sent_), {}});
        args_sent_ = args.size();
    }
}

// After a call: white space, then the closer (or, in an array, ',' or ']').
bool tool_call_parser::take_after_call(bool array_next) {
    const std::size_t lead = buf_.find_first_not_of(" \t\r\n");
    if (lead == std::string::npos) {
        buf_.clear();
        return false;
    }
    if (array_next) {
        const char c = buf_[lead];
        buf_.erase(0, lead + 1);
        if (c == ',') {
            start_call(false);
        } else {
            mode_ = mode::after_call;
            if (c != ']') {
                buf_.insert(0, 1, c); // not an array any more: content
                mode_ = mode::content;
            }
        }
        return true;
    }
    const std::string_view rest = std::string_view(buf_).substr(lead);
    for (const std::string* end : {&syn_->closer, &syn_->separator}) {
        if (end->empty()) {
            continue;
        }
        if (rest.size() < end->size() && end->compare(0, rest.size(), rest) == 0) {
            return false; // maybe the closer, cut
        }
        if (rest.starts_with(*end)) {
            buf_.erase(0, lead + end->size());
            return true; // several closers or separators in a row are taken one by one
        }
    }
    buf_.erase(0, lead);
    mode_ = mode::content;
    return true;
}

std::vector<tool_event> tool_call_parser::finish() {
    std::vector<tool_event> out;
    advance(out);
    if (mode_ == mode::content) {
        // What was held back: all of it without calls, else but trailing white space.
        std::size_t end = buf_.size();
        while (index_ > 0 && end > 0 && is_space(buf_[end - 1])) {
            --end;
        }
        emit_content(out, buf_.substr(0, end));
    } else if ((mode_ == mode::call || mode_ == mode::tag_name || mode_ == mode::array_open) &&
               !began_) {
        emit_content(out, raw_ + buf_); // an unfinished call nothing was sent of: content
    }
    buf_.clear();
    raw_.clear();
    return out;
}

parsed_output parse_tool_calls(tool_format f, std::string_view text) {
    tool_call_parser p(f);
    auto events = p.push(text);
    auto tail = p.finish();
    events.insert(events.end(), tail.begin(), tail.end());
    parsed_output out;
    for (auto& e : events) {
        switch (e.what) {
        case tool_event::kind::content:
            out.content += e.text;
            break;
        case tool_event::kind::call_begin:
            out.calls.push_back({std::move(e.id), std::move(e.text), {}, false});
            break;
        case tool_event::kind::arguments:
            out.calls[e.index].arguments += e.text;
            break;
        case tool_event::kind::call_end:
            out.calls[e.index].complete = true;
            break;
        }
    }
    return out;
}

const tool_call_parser::syntax* tool_call_parser::syntax_of(tool_format f) {
    static const tool_call_parser::syntax hermes{
        {{"<tool_call>", false, false}}, false, false, "</tool_call>", "", {"arguments"}};
    static const tool_call_parser::syntax llama3{
        {{"{", true, true}, {"<|python_tag|>", false, false}},
        false,
        false,
        "",
        ";",
        {"parameters", "arguments"}};
    static const tool_call_parser::syntax mistral{
        {{"[TOOL_CALLS]", false, false}}, true, false, "", "", {"arguments"}};
    static const tool_call_parser::syntax functionary{
        {{"<function=", false, false}}, false, true, "</function>", "", {}};
    switch (f) {
    case tool_format::hermes:
        return &hermes;
    case tool_format::llama3:
        return &llama3;
    case tool_format::mistral:
        return &mistral;
    case tool_format::functionary:
        return &functionary;
    case tool_format::none:
        return nullptr;
    }
    return nullptr;
}

} // namespace radixrt::http
