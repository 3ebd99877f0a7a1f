#include "jinja/lexer.hpp"

#include <cctype>

#include "jinja/error.hpp"

namespace radixrt::jinja::detail {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

class lexer {
  public:
    lexer(std::string_view s, const lexer_options& o) : src_(s), opt_(o) {}

    std::vector<token> run() {
        while (pos_ < src_.size()) {
            const std::size_t start = find_tag(pos_);
            text_until(start);
            if (start == src_.size()) {
                break;
            }
            tag(start);
        }
        out_.push_back({tok::eof, "", line_at(src_.size()), col_at(src_.size())});
        return std::move(out_);
    }

  private:
    std::size_t find_tag(std::size_t from) const {
        for (std::size_t i = from; i + 1 < src_.size(); ++i) {
            if (src_[i] == '{' &&
                (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) {
                return i;
            }
        }
        return src_.size();
    }

    int line_at(std::size_t p) {
        for (; scan_ < p && scan_ < src_.size(); ++scan_) {
            if (src_[scan_] == '\n') {
                ++line_;
                line_start_ = scan_ + 1;
            }
        }
        return line_;
    }
    int col_at(std::size_t p) { return int(p - line_start_) + 1; }
    [[noreturn]] void fail(const std::string& m, std::size_t p) {
        const int l = line_at(p);
        throw error(error_kind::syntax, m, l, col_at(p));
    }
    void emit(tok k, std::string text, std::size_t p) {
        const int l = line_at(p);
        out_.push_back({k, std::move(text), l, col_at(p)});
    }

    // Text from pos_ to the tag at `end`, after the previous tag's right-side
    // rule and before this tag's left-side rule.
    void text_until(std::size_t end) {
        std::size_t b = pos_;
        if (strip_next_) {
            while (b < end && is_space(src_[b])) {
                ++b;
            }
        } else if (trim_newline_) {
            if (b < end && src_[b] == '\n') {
                ++b;
            } else if (b + 1 < end && src_[b] == '\r' && src_[b + 1] == '\n') {
                b += 2;
            }
        }
        strip_next_ = trim_newline_ = false;
        std::size_t e = end;
        if (end + 2 < src_.size()) {
            const char kind = src_[end + 1], mark = src_[end + 2];
            if (mark == '-') {
                while (e > b && is_space(src_[e - 1])) {
                    --e;
                }
            } else if (mark != '+' && opt_.lstrip_blocks && (kind == '%' || kind == '#')) {
                std::size_t k = end;
                while (k > 0 && (src_[k - 1] == ' ' || src_[k - 1] == '\t')) {
                    --k;
                }
                if (k == 0 || src_[k - 1] == '\n') {
                    e = std::max(b, k);
                }
            }
        }
        if (e > b) {
            emit(tok::text, std::string(src_.substr(b, e - b)), b);
        }
        pos_ = end;
    }

    // After a closing delimiter at p (p points at '}' / '%' / '#').
    void close_tag(std::size_t marker_pos, bool block_like) {
        const char m = src_[marker_pos];
        strip_next_ = m == '-';
        trim_newline_ = block_like && m != '+' && m != '-' && opt_.trim_blocks;
    }

    void tag(std::size_t start) {
        const char kind = src_[start + 1];
        std::size_t p = start + 2;
        if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) {
            ++p;
        }
        if (kind == '#') {
            const auto e = src_.find("#}", p);
            if (e == std::string_view::npos) {
                fail("unterminated comment", start);
            }
            close_tag(e > p ? e - 1 : e, true);
            pos_ = e + 2;
            return;
        }
        const bool block = kind == '%';
        emit(block ? tok::block_begin : tok::var_begin, "", start);
        p = expression(p, block ? '%' : '}', start);
        if (block && out_.size() >= 3 && out_[out_.size() - 2].kind == tok::name &&
            out_[out_.size() - 2].text == "raw" && out_[out_.size() - 3].kind == tok::block_begin) {
            raw(p);
            return;
        }
        pos_ = p;
    }

    // Tokens until the closing delimiter at bracket depth 0; returns the
    // position after it.
    std::size_t expression(std::size_t p, char closer, std::size_t start) {
        int depth = 0;
        while (true) {
            while (p < src_.size() && is_space(src_[p])) {
                ++p;
            }
            if (p >= src_.size()) {
                fail(closer == '%' ? "unexpected end of template in a block tag (missing '%}')"
                                   : "unexpected end of template in an expression (missing '}}')",
                     start);
            }
            if (depth == 0) {
                std::size_t q = p;
                const bool marked = (src_[q] == '-' || src_[q] == '+') && q + 1 < src_.size();
                if (marked) {
                    ++q;
                }
                if (q + 1 < src_.size() && src_[q] == closer && src_[q + 1] == '}') {
                    close_tag(marked ? p : q, closer == '%');
                    emit(closer == '%' ? tok::block_end : tok::var_end, "", p);
                    return q + 2;
                }
            }
            p = one_token(p, depth);
        }
    }

    std::size_t one_token(std::size_t p, int& depth) {
        const char c = src_[p];
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            std::size_t e = p;
            while (e < src_.size() &&
                   (std::isalnum(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) {
                ++e;
            }
            emit(tok::name, std::string(src_.substr(p, e - p)), p);
            return e;
        }
        if (std::isdigit(static_cast<unsigned char>(c))) {
            return number(p);
        }
        if (c == '\'' || c == '"') {
            return string(p);
        }
        static const char* two[] = {"**", "//", "==", "!=", "<=", ">="};
        for (const char* t : two) {
            if (src_.substr(p, 2) == t) {
                emit(tok::op, t, p);
                return p + 2;
            }
        }
        if (std::string_view("+-*/%~<>=()[]{},.:|").find(c) == std::string_view::npos) {
            fail(std::string("unexpected character '") + c + "'", p);
        }
        if (c == '(' || c == '[' || c == '{') {
            ++depth;
        } else if (c == ')' || c == ']' || c == '}') {
            --depth;
        }
        emit(tok::op, std::string(1, c), p);
        return p + 1;
    }

    std::size_t number(std::size_t p) {
        std::size_t e = p;
        const auto digits = [&] {
            while (e < src_.size() &&
                   (std::isdigit(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) {
                ++e;
            }
        };
        digits();
        bool is_float = false;
        if (e + 1 < src_.size() && src_[e] == '.' &&
            std::isdigit(static_cast<unsigned char>(src_[e + 1]))) {
            is_float = true;
            ++e;
            digits();
        }
        if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
            std::size_t f = e + 1;
            if (f < src_.size() && (src_[f] == '+' || src_[f] == '-')) {
                ++f;
            }
            if (f < src_.size() && std::isdigit(static_cast<unsigned char>(src_[f]))) {
                is_float = true;
                e = f;
                digits();
            }
        }
        std::string t;
        for (char ch : src_.substr(p, e - p)) {
            if (ch != '_') {
                t += ch;
            }
        }
        emit(is_float ? tok::floating : tok::integer, t, p);
        return e;
    }

    std::size_t string(std::size_t p) {
        const char q = src_[p];
        std::string v;
        std::size_t i = p + 1;
        for (; i < src_.size() && src_[i] != q; ++i) {
            if (src_[i] != '\\' || i + 1 >= src_.size()) {
                v += src_[i];
                continue;
            }
            const char e = src_[++i];
            switch (e) {
            case 'n':
                v += '\n';
                break;
            case 't':
                v += '\t';
                break;
            case 'r':
                v += '\r';
                break;
            case 'b':
                v += '\b';
                break;
            case 'f':
                v += '\f';
                break;
            case 'v':
                v += '\v';
                break;
            case 'a':
                v += '\a';
                break;
            case '0':
                v += '\0';
                break;
            case '\\':
                v += '\\';
                break;
            case '\'':
                v += '\'';
                break;
            case '"':
                v += '"';
                break;
            case '\n':
                break;
            case 'x':
            case 'u':
            case 'U': {
                const std::size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                if (i + n >= src_.size()) {
                    fail("truncated escape in a string", i);
                }
                const std::string hex(src_.substr(i + 1, n));
                if (hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
                    fail("bad escape in a string", i);
                }
                append_utf8(v, unsigned(std::stoul(hex, nullptr, 16)));
                i += n;
                break;
            }
            default:
                v += '\\';
                v += e;
            }
        }
        if (i >= src_.size()) {
            fail("unterminated string", p);
        }
        emit(tok::string, std::move(v), p);
        return i + 1;
    }

    // {% raw %} ... {% endraw %}: the text in between, verbatim.
    void raw(std::size_t p) {
        out_.resize(out_.size() - 3);
        for (std::size_t s = src_.find("{%", p); s != std::string_view::npos;
             s = src_.find("{%", s + 2)) {
            std::size_t q = s + 2;
            const bool minus = q < src_.size() && src_[q] == '-';
            q += (minus || (q < src_.size() && src_[q] == '+')) ? 1 : 0;
            while (q < src_.size() && is_space(src_[q])) {
                ++q;
            }
            if (src_.substr(q, 6) != "endraw") {
                continue;
            }
            q += 6;
            while (q < src_.size() && is_space(src_[q])) {
                ++q;
            }
            std::size_t m = q;
            if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) {
                ++q;
            }
            if (src_.substr(q, 2) != "%}") {
                continue;
            }
            std::size_t b = p, e = s;
            if (strip_next_) {
                while (b < e && is_space(src_[b])) {
                    ++b;
                }
            } else if (trim_newline_ && b < e && src_[b] == '\n') {
                ++b;
            }
            if (minus) {
                while (e > b && is_space(src_[e - 1])) {
                    --e;
                }
            }
            if (e > b) {
                emit(tok::text, std::string(src_.substr(b, e - b)), b);
            }
            close_tag(m < q ? m : q, true);
            pos_ = q + 2;
            return;
        }
        fail("missing {% endraw %}", p);
    }

    std::string_view src_;
    lexer_options opt_;
    std::vector<token> out_;
    std::size_t pos_ = 0, scan_ = 0, line_start_ = 0;
    int line_ = 1;
    bool strip_next_ = false, trim_newline_ = false;
};

} // namespace

std::vector<token> tokenize(std::string_view src, const lexer_options& opt) {
    return lexer(src, opt).run();
}

} // namespace radixrt::jinja::detail
