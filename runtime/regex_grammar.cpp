#include "runtime/regex_grammar.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

namespace radixrt::runtime {

namespace {

using ranges = std::vector<std::pair<char32_t, char32_t>>;

ranges complement(ranges r) {
    detail::char_set s;
    s.ranges = std::move(r);
    s.normalize(true);
    return s.ranges;
}

ranges class_escape(char e) {
    const ranges digit{{'0', '9'}};
    const ranges word{{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
    const ranges space{{'\t', '\r'}, {' ', ' '}};
    switch (e) {
    case 'd': return digit;
    case 'D': return complement(digit);
    case 'w': return word;
    case 'W': return complement(word);
    case 's': return space;
    case 'S': return complement(space);
    default: return {};
    }
}

class regex_parser {
  public:
    regex_parser(std::string_view re, const regex_options& o) : re_(re), o_(o) {}

    std::string run() {
        bool start = false, end = false;
        if (!re_.empty() && re_.front() == '^') {
            start = true;
            ++pos_;
        }
        if (re_.size() > pos_ && re_.back() == '$' &&
            (re_.size() < 2 || re_[re_.size() - 2] != '\\')) {
            end = true;
            re_.remove_suffix(1);
        }
        std::string body = alternation(0);
        if (pos_ != re_.size()) {
            fail("unbalanced ')'");
        }
        const std::string any = emit_set({{0, 0x10FFFF}}) + "*";
        if (o_.search) {
            body = (start ? "" : any + " ") + body + (end ? "" : " " + any);
        }
        return "(" + body + ")";
    }

  private:
    [[noreturn]] void fail(const std::string& what) const {
        throw schema_error(o_.keyword, what + " at offset " + std::to_string(pos_) + " of the regex");
    }
    bool eof() const { return pos_ >= re_.size(); }
    char peek() const { return eof() ? '\0' : re_[pos_]; }

    std::string alternation(int depth) {
        if (depth > 64) {
            fail("groups nested too deeply");
        }
        std::string out = sequence(depth);
        while (peek() == '|') {
            ++pos_;
            out += " | " + sequence(depth);
        }
        return out;
    }

    std::string sequence(int depth) {
        std::string out;
        while (!eof() && peek() != '|' && peek() != ')') {
            std::string atom_text = atom(depth);
            atom_text = quantified(std::move(atom_text));
            out += (out.empty() ? "" : " ") + atom_text;
        }
        return out.empty() ? "\"\"" : out;
    }

    std::string quantified(std::string atom_text) {
        const char c = peek();
        std::string q;
        if (c == '*' || c == '+' || c == '?') {
            ++pos_;
            q = std::string(1, c);
        } else if (c == '{') {
            const std::size_t close = re_.find('}', pos_);
            if (close == std::string_view::npos) {
                fail("unterminated {m,n}");
            }
            const std::string inner(re_.substr(pos_ + 1, close - pos_ - 1));
            unsigned m = 0, n = 0;
            char tail = 0;
            if (std::sscanf(inner.c_str(), "%u,%u%c", &m, &n, &tail) == 2) {
                if (n < m) {
                    fail("{m,n} with n < m");
                }
            } else if (inner.find(',') == std::string::npos &&
                       std::sscanf(inner.c_str(), "%u%c", &m, &tail) == 1) {
                n = m;
            } else if (inner.back() == ',' && std::sscanf(inner.c_str(), "%u,%c", &m, &tail) == 1) {
                n = ~0u;
            } else {
                fail("malformed {m,n}");
            }
            if (m > 1000 || (n != ~0u && n > 1000)) {
                fail("repetition counts above 1000");
            }
            q = "{" + std::to_string(m) + "," + (n == ~0u ? "" : std::to_string(n)) + "}";
            pos_ = close + 1;
        } else {
            return atom_text;
        }
        if (peek() == '?') {
            ++pos_; // lazy: the same language
        } else if (peek() == '+') {
            fail("possessive quantifiers are not supported");
        }
        if (peek() == '*' || peek() == '+' || peek() == '{') {
            fail("a quantifier cannot follow a quantifier");
        }
        return "(" + atom_text + ")" + q;
    }

    std::string atom(int depth) {
        const char c = re_[pos_];
        if (c == '(') {
            ++pos_;
            if (peek() == '?') {
                const std::string_view rest = re_.substr(pos_);
                if (rest.starts_with("?:")) {
                    pos_ += 2;
                } else if ((rest.starts_with("?<") || rest.starts_with("?P<")) &&
                           !rest.starts_with("?<=") && !rest.starts_with("?<!")) {
                    pos_ = re_.find('>', pos_);
                    if (pos_ == std::string_view::npos) {
                        pos_ = re_.size();
                        fail("unterminated group name");
                    }
                    ++pos_;
                } else {
                    fail("lookaround and (?...) groups other than (?:...) are not supported");
                }
            }
            std::string inner = alternation(depth + 1);
            if (peek() != ')') {
                fail("expected ')'");
            }
            ++pos_;
            return "(" + inner + ")";
        }
        if (c == '*' || c == '+' || c == '?' || c == '{') {
            fail("nothing to repeat");
        }
        if (c == '^' || c == '$') {
            fail("anchors are supported only at the start and the end");
        }
        ++pos_;
        if (c == '[') {
            return emit_set(char_class());
        }
        if (c == '.') {
            return emit_set({{0, '\n' - 1}, {'\n' + 1, 0x10FFFF}});
        }
        if (c == '\\') {
            return emit_set(escape(false));
        }
        --pos_;
        const char32_t cp = utf8();
        return emit_set({{cp, cp}});
    }

    char32_t utf8() {
        const auto b = static_cast<unsigned char>(re_[pos_]);
        const std::size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
        if (n == 0 || pos_ + n > re_.size()) {
            fail("invalid UTF-8");
        }
        char32_t v = n == 1 ? b : b & (0x7F >> n);
        for (std::size_t i = 1; i < n; ++i) {
            v = (v << 6) | (static_cast<unsigned char>(re_[pos_ + i]) & 0x3F);
        }
        pos_ += n;
        return v;
    }

    // After a backslash.
    ranges escape(bool in_class) {
        if (eof()) {
            fail("a trailing backslash");
        }
        const char e = re_[pos_++];
        if (auto r = class_escape(e); !r.empty()) {
            return r;
        }
        switch (e) {
        case 'n': return {{'\n', '\n'}};
        case 't': return {{'\t', '\t'}};
        case 'r': return {{'\r', '\r'}};
        case 'f': return {{'\f', '\f'}};
        case 'v': return {{'\v', '\v'}};
        case 'x': case 'u': {
            const std::size_t n = e == 'x' ? 2 : 4;
            char32_t v = 0;
            for (std::size_t i = 0; i < n; ++i, ++pos_) {
                const char h = peek();
                if (!std::isxdigit(static_cast<unsigned char>(h))) {
                    fail("bad \\x or \\u escape");
                }
                v = v * 16 + char32_t(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
            }
            return {{v, v}};
        }
        case 'b':
            if (in_class) {
                return {{'\b', '\b'}};
            }
            fail("word boundaries (\\b) are not supported");
        case 'B': fail("word boundaries (\\B) are not supported");
        default: break;
        }
        if (e >= '1' && e <= '9') {
            fail("backreferences are not supported");
        }
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) {
            fail(std::string("unsupported escape \\") + e);
        }
        return {{char32_t(static_cast<unsigned char>(e)), char32_t(static_cast<unsigned char>(e))}};
    }

    ranges char_class() {
        bool negated = false;
        if (peek() == '^') {
            negated = true;
            ++pos_;
        }
        ranges out;
        bool first = true;
        while (first || peek() != ']') {
            first = false;
            if (eof()) {
                fail("unterminated character class");
            }
            ranges lo_set;
            if (peek() == '\\') {
                ++pos_;
                lo_set = escape(true);
            } else {
                const char32_t cp = utf8();
                lo_set = {{cp, cp}};
            }
            if (lo_set.size() == 1 && lo_set[0].first == lo_set[0].second && peek() == '-' &&
                pos_ + 1 < re_.size() && re_[pos_ + 1] != ']') {
                ++pos_;
                char32_t hi = 0;
                if (peek() == '\\') {
                    ++pos_;
                    const auto r = escape(true);
                    if (r.size() != 1 || r[0].first != r[0].second) {
                        fail("a class escape cannot end a range");
                    }
                    hi = r[0].first;
                } else {
                    hi = utf8();
                }
                if (hi < lo_set[0].first) {
                    fail("character range out of order");
                }
                lo_set[0].second = hi;
            }
            out.insert(out.end(), lo_set.begin(), lo_set.end());
        }
        ++pos_;
        detail::char_set s;
        s.ranges = std::move(out);
        s.normalize(negated);
        return s.ranges;
    }

    // A GBNF class for the set (restricted for JSON strings if asked).
    std::string emit_set(ranges r) const {
        detail::char_set s;
        s.ranges = std::move(r);
        if (o_.json_string) {
            s.normalize(true); // complement, remove the forbidden, complement back
            s.ranges.emplace_back(0, 0x1F);
            s.ranges.emplace_back('"', '"');
            s.ranges.emplace_back('\\', '\\');
            s.normalize(true);
        } else {
            s.normalize(false);
        }
        std::string out = "[";
        char buf[16];
        for (const auto& [lo, hi] : s.ranges) {
            std::snprintf(buf, sizeof buf, "\\U%08X", unsigned(lo));
            out += buf;
            if (hi != lo) {
                std::snprintf(buf, sizeof buf, "-\\U%08X", unsigned(hi));
                out += buf;
            }
        }
        return out + "]";
    }

    std::string_view re_;
    regex_options o_;
    std::size_t pos_ = 0;
};

} // namespace

std::string regex_to_gbnf(std::string_view regex, const regex_options& options) {
    if (regex.size() > 1 << 16) {
        throw schema_error(options.keyword, "the regex is longer than 65536 bytes");
    }
    return regex_parser(regex, options).run();
}

std::shared_ptr<const grammar> regex_grammar(std::string_view regex) {
    return grammar::parse("root ::= " + regex_to_gbnf(regex));
}

} // namespace radixrt::runtime
