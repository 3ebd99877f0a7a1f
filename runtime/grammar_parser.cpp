// GBNF parser: text -> rules of alternatives of element sequences, then the
// checks (undefined rules, left recursion, size) and the flat layout the
// matcher walks. See runtime/grammar.hpp for the desugaring.
#include "runtime/grammar.hpp"

#include <algorithm>
#include <functional>
#include <unordered_map>

namespace radixrt::runtime {

namespace {

using detail::elem_kind;
using detail::grammar_elem;
using sequence = std::vector<grammar_elem>;

class parser {
  public:
    parser(std::string_view src, const grammar_limits& limits) : src_(src), limits_(limits) {}

    std::shared_ptr<const grammar> run();

  private:
    [[noreturn]] void fail(const std::string& what, std::size_t at) const;
    [[noreturn]] void fail(const std::string& what) const { fail(what, pos_); }
    bool eof() const { return pos_ >= src_.size(); }
    char peek() const { return eof() ? '\0' : src_[pos_]; }
    void skip_space(bool newlines);
    void parse_rule();
    std::vector<sequence> parse_alternates(bool nested);
    sequence parse_sequence(bool nested);
    std::string parse_name();
    char32_t parse_char();
    std::uint32_t parse_class();
    std::size_t parse_number();
    void apply_repetition(sequence& seq, std::size_t last_start);
    void parse_bounds(std::size_t at, std::size_t& min, std::size_t& max, bool& unbounded);
    std::uint32_t rule_id(const std::string& name, std::size_t at);
    std::uint32_t add_rule(const std::string& base, std::vector<sequence> alts);
    std::uint32_t add_set(detail::char_set set, bool negated);
    void count(std::size_t n);

    std::string_view src_;
    grammar_limits limits_;
    std::size_t pos_ = 0;
    std::size_t elements_ = 0;
    grammar g_;
    std::vector<std::vector<sequence>> rules_;
    std::vector<bool> defined_;
    std::vector<std::size_t> first_use_;
    std::unordered_map<std::string, std::uint32_t> ids_;
    std::string current_ = "root";
};

void parser::fail(const std::string& what, std::size_t at) const {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < at && i < src_.size(); ++i) {
        if (src_[i] == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    throw grammar_error(what, line, col);
}

void parser::skip_space(bool newlines) {
    while (!eof()) {
        const char c = peek();
        if (c == ' ' || c == '\t' || ((c == '\n' || c == '\r') && newlines)) {
            ++pos_;
        } else if (c == '#') {
            while (!eof() && peek() != '\n') {
                ++pos_;
            }
        } else {
            return;
        }
    }
}

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

std::string parser::parse_name() {
    const std::size_t start = pos_;
    while (!eof() && is_name_char(peek())) {
        ++pos_;
    }
    if (start == pos_) {
        fail("expected a rule name");
    }
    return std::string(src_.substr(start, pos_ - start));
}

std::uint32_t parser::rule_id(const std::string& name, std::size_t at) {
    auto it = ids_.find(name);
    if (it != ids_.end()) {
        return it->second;
    }
    const auto id = add_rule(name, {});
    ids_.emplace(name, id);
    first_use_[id] = at;
    return id;
}

std::uint32_t parser::add_rule(const std::string& base, std::vector<sequence> alts) {
    if (rules_.size() >= limits_.max_rules) {
        fail("the grammar has more than " + std::to_string(limits_.max_rules) + " rules");
    }
    const auto id = std::uint32_t(rules_.size());
    const bool synthetic = !alts.empty() || base.find('#') != std::string::npos;
    g_.names.push_back(synthetic ? base.substr(0, base.find('#')) + "_" + std::to_string(id)
                                 : base);
    rules_.push_back(std::move(alts));
    defined_.push_back(synthetic);
    first_use_.push_back(pos_);
    return id;
}

std::uint32_t parser::add_set(detail::char_set set, bool negated) {
    set.normalize(negated);
    g_.sets.push_back(std::move(set));
    return std::uint32_t(g_.sets.size() - 1);
}

void parser::count(std::size_t n) {
    elements_ += n;
    if (elements_ > limits_.max_elements) {
        fail("the grammar expands to more than " + std::to_string(limits_.max_elements) +
             " elements");
    }
}

std::size_t parse_hex(std::string_view s) {
    std::size_t v = 0;
    for (char c : s) {
        v = v * 16 + std::size_t(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

char32_t parser::parse_char() {
    if (eof()) {
        fail("unexpected end of grammar");
    }
    const auto c = static_cast<unsigned char>(src_[pos_]);
    if (c == '\\') {
        if (pos_ + 1 >= src_.size()) {
            fail("unexpected end of grammar after '\\'");
        }
        const char e = src_[pos_ + 1];
        pos_ += 2;
        switch (e) {
        case 'n': return '\n';
        case 'r': return '\r';
        case 't': return '\t';
        case '\\': case '"': case '[': case ']': case '-': case '/': case '^': return char32_t(e);
        case 'x': case 'u': case 'U': {
            const std::size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            for (std::size_t i = 0; i < n; ++i) {
                if (pos_ + i >= src_.size() || !std::isxdigit(static_cast<unsigned char>(src_[pos_ + i]))) {
                    fail("expected " + std::to_string(n) + " hex digits after \\" + e, pos_ + i);
                }
            }
            const auto v = parse_hex(src_.substr(pos_, n));
            if (v > 0x10FFFF) {
                fail("code point out of range", pos_);
            }
            pos_ += n;
            return char32_t(v);
        }
        default: fail(std::string("unknown escape \\") + e, pos_ - 2);
        }
    }
    // One UTF-8 encoded code point of the grammar text.
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || pos_ + n > src_.size()) {
        fail("invalid UTF-8 in grammar");
    }
    char32_t v = n == 1 ? c : c & (0x7F >> n);
    for (std::size_t i = 1; i < n; ++i) {
        const auto b = static_cast<unsigned char>(src_[pos_ + i]);
        if ((b & 0xC0) != 0x80) {
            fail("invalid UTF-8 in grammar", pos_ + i);
        }
        v = (v << 6) | (b & 0x3F);
    }
    pos_ += n;
    return v;
}

std::uint32_t parser::parse_class() {
    ++pos_; // '['
    bool negated = false;
    if (peek() == '^') {
        negated = true;
        ++pos_;
    }
    detail::char_set set;
    while (peek() != ']') {
        if (eof()) {
            fail("unterminated character class: expected ']'");
        }
        const char32_t lo = parse_char();
        char32_t hi = lo;
        if (peek() == '-' && pos_ + 1 < src_.size() && src_[pos_ + 1] != ']') {
            ++pos_;
            const std::size_t at = pos_;
            hi = parse_char();
            if (hi < lo) {
                fail("character range is out of order", at);
            }
        }
        set.ranges.emplace_back(lo, hi);
    }
    ++pos_;
    return add_set(std::move(set), negated);
}

std::size_t parser::parse_number() {
    const std::size_t start = pos_;
    std::size_t v = 0;
    while (!eof() && peek() >= '0' && peek() <= '9') {
        v = v * 10 + std::size_t(peek() - '0');
        if (v > limits_.max_repetition) {
            fail("repetition count exceeds " + std::to_string(limits_.max_repetition), start);
        }
        ++pos_;
    }
    return v;
}

// After '{': m}, m,}, m,n} or ,n}.
void parser::parse_bounds(std::size_t at, std::size_t& min, std::size_t& max, bool& unbounded) {
    skip_space(false);
    min = parse_number();
    skip_space(false);
    if (peek() == ',') {
        ++pos_;
        skip_space(false);
        if (peek() == '}') {
            unbounded = true;
        } else {
            max = parse_number();
        }
    } else {
        max = min;
    }
    skip_space(false);
    if (peek() != '}') {
        fail("expected '}' to close a repetition");
    }
    ++pos_;
    if (!unbounded && max < min) {
        fail("repetition {m,n} with n < m", at);
    }
}

// x{m,n} over the last symbol seq[last_start..): m copies, then n - m nested
// optionals (or a star rule when n is unbounded).
void parser::apply_repetition(sequence& seq, std::size_t last_start) {
    const std::size_t at = pos_;
    const char op = peek();
    ++pos_;
    std::size_t min = 0, max = 0;
    bool unbounded = false;
    if (op == '*') {
        unbounded = true;
    } else if (op == '+') {
        min = 1;
        unbounded = true;
    } else if (op == '?') {
        max = 1;
    } else { // '{'
        parse_bounds(at, min, max, unbounded);
    }
    sequence item(seq.begin() + std::ptrdiff_t(last_start), seq.end());
    seq.resize(last_start);
    if (item.size() > 1) {
        item = {grammar_elem{elem_kind::rule, add_rule(current_ + "#", {item})}};
    }
    count(item.size() * (min + 1));
    for (std::size_t i = 0; i < min; ++i) {
        seq.insert(seq.end(), item.begin(), item.end());
    }
    if (unbounded) {
        const auto star = add_rule(current_ + "#", {{}, {}});
        rules_[star][0] = item;
        rules_[star][0].push_back({elem_kind::rule, star});
        seq.push_back({elem_kind::rule, star});
        return;
    }
    std::uint32_t tail = 0;
    for (std::size_t k = 0; k < max - min; ++k) {
        sequence body = item;
        if (k > 0) {
            body.push_back({elem_kind::rule, tail});
        }
        tail = add_rule(current_ + "#", {body, {}});
        count(item.size() + 1);
    }
    if (max > min) {
        seq.push_back({elem_kind::rule, tail});
    }
}

sequence parser::parse_sequence(bool nested) {
    sequence seq;
    std::size_t last_start = std::string::npos;
    for (;;) {
        const char c = peek();
        const std::size_t start = seq.size();
        if (c == '"') {
            ++pos_;
            while (peek() != '"') {
                if (eof() || peek() == '\n') {
                    fail("unterminated string literal: expected '\"'");
                }
                const char32_t ch = parse_char();
                detail::char_set set;
                set.ranges.emplace_back(ch, ch);
                seq.push_back({elem_kind::chars, add_set(std::move(set), false)});
            }
            ++pos_;
        } else if (c == '[') {
            seq.push_back({elem_kind::chars, parse_class()});
        } else if (c == '.') {
            ++pos_;
            detail::char_set set;
            set.ranges.emplace_back(char32_t(0), char32_t(0x10FFFF));
            seq.push_back({elem_kind::chars, add_set(std::move(set), false)});
        } else if (c == '(') {
            ++pos_;
            skip_space(true);
            auto alts = parse_alternates(true);
            if (peek() != ')') {
                fail("expected ')'");
            }
            ++pos_;
            seq.push_back({elem_kind::rule, add_rule(current_ + "#", std::move(alts))});
        } else if (is_name_char(c)) {
            const std::size_t at = pos_;
            seq.push_back({elem_kind::rule, rule_id(parse_name(), at)});
        } else if (c == '*' || c == '+' || c == '?' || c == '{') {
            if (last_start == std::string::npos) {
                fail(std::string("'") + c + "' must follow an item to repeat");
            }
            apply_repetition(seq, last_start);
            skip_space(nested);
            continue;
        } else {
            return seq;
        }
        count(seq.size() - start);
        last_start = start;
        skip_space(nested);
    }
}

std::vector<sequence> parser::parse_alternates(bool nested) {
    std::vector<sequence> alts;
    alts.push_back(parse_sequence(nested));
    while (peek() == '|') {
        ++pos_;
        skip_space(true);
        alts.push_back(parse_sequence(nested));
    }
    return alts;
}

void parser::parse_rule() {
    const std::size_t at = pos_;
    current_ = parse_name();
    const auto id = rule_id(current_, at);
    if (defined_[id]) {
        fail("rule '" + current_ + "' is defined twice", at);
    }
    skip_space(false);
    if (src_.substr(pos_, 3) != "::=") {
        fail("expected '::=' after rule name '" + current_ + "'");
    }
    pos_ += 3;
    skip_space(true);
    rules_[id] = parse_alternates(false);
    defined_[id] = true;
    skip_space(false);
    if (!eof() && peek() != '\n' && peek() != '\r') {
        fail(std::string("unexpected '") + peek() +
             "': expected a string, a class, a rule name, '(', '|', a repetition or a new line");
    }
}

} // namespace

std::shared_ptr<const grammar> grammar::parse(std::string_view gbnf, const grammar_limits& limits) {
    if (gbnf.size() > limits.max_source_bytes) {
        throw grammar_error("the grammar is longer than " +
                                std::to_string(limits.max_source_bytes) + " bytes",
                            0, 0);
    }
    return parser(gbnf, limits).run();
}

std::shared_ptr<const grammar> parser::run() {
    skip_space(true);
    while (!eof()) {
        parse_rule();
        skip_space(true);
    }
    auto root = ids_.find("root");
    if (root == ids_.end() || !defined_[root->second]) {
        throw grammar_error("the grammar has no 'root' rule", 0, 0);
    }
    for (std::size_t id = 0; id < rules_.size(); ++id) {
        if (!defined_[id]) {
            fail("undefined rule '" + g_.names[id] + "'", first_use_[id]);
        }
    }
    detail::check_left_recursion(rules_, g_.names);
    g_.root = root->second;
    g_.alternatives.resize(rules_.size());
    for (std::size_t id = 0; id < rules_.size(); ++id) {
        for (const auto& alt : rules_[id]) {
            g_.alternatives[id].push_back(std::uint32_t(g_.elems.size()));
            g_.elems.insert(g_.elems.end(), alt.begin(), alt.end());
            g_.elems.push_back({elem_kind::end, 0});
        }
    }
    return std::make_shared<const grammar>(std::move(g_));
}

} // namespace radixrt::runtime
