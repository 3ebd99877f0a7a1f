#include "runtime/json_value.hpp"

#include <stdexcept>

namespace radixrt::runtime {

namespace {

class reader {
  public:
    reader(std::string_view s, std::size_t max_depth) : s_(s), max_depth_(max_depth) {}

    json_value document() {
        json_value v = value(0);
        space();
        if (pos_ != s_.size()) {
            fail("unexpected text after the JSON value");
        }
        return v;
    }

  private:
    [[noreturn]] void fail(const std::string& what) const {
        throw std::invalid_argument("JSON at offset " + std::to_string(pos_) + ": " + what);
    }
    void space() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' ||
                                    s_[pos_] == '\r')) {
            ++pos_;
        }
    }
    bool eat(char c) {
        space();
        if (pos_ < s_.size() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    void expect(char c) {
        if (!eat(c)) {
            fail(std::string("expected '") + c + "'");
        }
    }
    bool word(std::string_view w) {
        if (s_.substr(pos_, w.size()) == w) {
            pos_ += w.size();
            return true;
        }
        return false;
    }
    json_value value(std::size_t depth);
    std::string string();
    std::string number();
    unsigned hex4();

    std::string_view s_;
    std::size_t max_depth_;
    std::size_t pos_ = 0;
};

void put_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += char(c);
    } else if (c < 0x800) {
        out += char(0xC0 | (c >> 6));
        out += char(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += char(0xE0 | (c >> 12));
        out += char(0x80 | ((c >> 6) & 0x3F));
        out += char(0x80 | (c & 0x3F));
    } else {
        out += char(0xF0 | (c >> 18));
        out += char(0x80 | ((c >> 12) & 0x3F));
        out += char(0x80 | ((c >> 6) & 0x3F));
        out += char(0x80 | (c & 0x3F));
    }
}

unsigned reader::hex4() {
    unsigned v = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
        const char c = pos_ < s_.size() ? s_[pos_] : '\0';
        const int d = c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                             : -1;
        if (d < 0) {
            fail("bad \\u escape");
        }
        v = v * 16 + unsigned(d);
    }
    return v;
}

std::string reader::string() {
    ++pos_; // opening quote
    std::string out;
    while (true) {
        if (pos_ >= s_.size()) {
            fail("unterminated string");
        }
        const char c = s_[pos_++];
        if (c == '"') {
            return out;
        }
        if (static_cast<unsigned char>(c) < 0x20) {
            fail("control character in string");
        }
        if (c != '\\') {
            out += c;
            continue;
        }
        const char e = pos_ < s_.size() ? s_[pos_++] : '\0';
        switch (e) {
        case '"': case '\\': case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
            char32_t cp = hex4();
            if (cp >= 0xD800 && cp <= 0xDBFF && word("\\u")) {
                const unsigned lo = hex4();
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    fail("bad surrogate pair");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xD800 && cp <= 0xDFFF) {
                fail("lone surrogate");
            }
            put_utf8(out, cp);
            break;
        }
        default: fail("bad escape");
        }
    }
}

std::string reader::number() {
    const std::size_t start = pos_;
    auto digits = [&] {
        const std::size_t d = pos_;
        while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
            ++pos_;
        }
        return pos_ - d;
    };
    if (pos_ < s_.size() && s_[pos_] == '-') {
        ++pos_;
    }
    const std::size_t int_start = pos_;
    if (digits() == 0 || (s_[int_start] == '0' && pos_ - int_start > 1)) {
        fail("expected a value");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
        ++pos_;
        if (digits() == 0) {
            fail("expected digits after '.'");
        }
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
        ++pos_;
        if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) {
            ++pos_;
        }
        if (digits() == 0) {
            fail("expected exponent digits");
        }
    }
    return std::string(s_.substr(start, pos_ - start));
}

json_value reader::value(std::size_t depth) {
    if (depth > max_depth_) {
        fail("nesting deeper than " + std::to_string(max_depth_));
    }
    space();
    json_value v;
    if (pos_ >= s_.size()) {
        fail("expected a value");
    }
    const char c = s_[pos_];
    if (c == '{') {
        ++pos_;
        v.type = json_value::kind::object;
        if (eat('}')) {
            return v;
        }
        do {
            space();
            if (pos_ >= s_.size() || s_[pos_] != '"') {
                fail("expected a key");
            }
            std::string key = string();
            expect(':');
            v.keys.push_back(std::move(key));
            v.values.push_back(value(depth + 1));
        } while (eat(','));
        expect('}');
    } else if (c == '[') {
        ++pos_;
        v.type = json_value::kind::array;
        if (eat(']')) {
            return v;
        }
        do {
            v.items.push_back(value(depth + 1));
        } while (eat(','));
        expect(']');
    } else if (c == '"') {
        v.type = json_value::kind::string;
        v.text = string();
    } else if (word("true") || word("false")) {
        v.type = json_value::kind::boolean;
        v.flag = s_[pos_ - 1] == 'e' && s_[pos_ - 2] == 'u';
    } else if (word("null")) {
        v.type = json_value::kind::null;
    } else {
        v.type = json_value::kind::number;
        v.text = number();
    }
    return v;
}

} // namespace

const json_value* json_value::find(std::string_view key) const {
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (keys[i] == key) {
            return &values[i];
        }
    }
    return nullptr;
}

std::string json_quote(std::string_view s) {
    static const char* hex = "0123456789abcdef";
    std::string out = "\"";
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            out += "\\u00";
            out += hex[u >> 4];
            out += hex[u & 15];
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string json_value::dump() const {
    switch (type) {
    case kind::null: return "null";
    case kind::boolean: return flag ? "true" : "false";
    case kind::number: return text;
    case kind::string: return json_quote(text);
    case kind::array: {
        std::string out = "[";
        for (std::size_t i = 0; i < items.size(); ++i) {
            out += (i ? "," : "") + items[i].dump();
        }
        return out + "]";
    }
    case kind::object: {
        std::string out = "{";
        for (std::size_t i = 0; i < keys.size(); ++i) {
            out += (i ? "," : "") + json_quote(keys[i]) + ":" + values[i].dump();
        }
        return out + "}";
    }
    }
    return "null";
}

json_value parse_json(std::string_view text, std::size_t max_depth) {
    return reader(text, max_depth).document();
}

} // namespace radixrt::runtime
