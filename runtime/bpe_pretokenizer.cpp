#include "runtime/bpe_pretokenizer.hpp"

#include <array>
#include <string>

#include "runtime/unicode.hpp"

namespace radixrt::runtime::detail {
namespace {

// One piece of the text being split, [b, e) in code points. Positions at or
// past e read as "nothing": no class matches there (as llama.cpp's scanners
// and regexes see the end of a piece).
struct piece {
    std::span<const char32_t> cps;
    std::span<const std::uint8_t> flags;
    std::size_t b, e;

    char32_t at(std::size_t i) const { return i < e ? cps[i] : 0xffffffff; }
    bool ws(std::size_t i) const { return i < e && (flags[i] & ws_flag); }
    bool is(std::size_t i, ucat c) const { return i < e && !ws(i) && class_of(flags[i]) == c; }
    bool letter(std::size_t i) const { return i < e && class_of(flags[i]) == ucat::letter; }
    bool number(std::size_t i) const { return i < e && class_of(flags[i]) == ucat::number; }
    // [^\s\p{L}\p{N}]
    bool other(std::size_t i) const { return i < e && !ws(i) && !letter(i) && !number(i); }
    bool newline(std::size_t i) const { return at(i) == '\r' || at(i) == '\n'; }
};

// Records word ends; each word runs from the previous end.
struct emitter {
    std::vector<std::uint32_t>& out;
    std::size_t prev;
    void to(std::size_t end) {
        if (end > prev) {
            out.push_back(std::uint32_t(end - prev));
        }
        prev = end;
    }
};

char32_t lower_ascii(char32_t c) {
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

// 's|'t|'re|'ve|'m|'ll|'d (optionally case-insensitive): the end, or pos.
std::size_t contraction(const piece& p, std::size_t pos, bool any_case) {
    if (p.at(pos) != '\'' || pos + 1 >= p.e) {
        return pos;
    }
    auto low = [&](std::size_t i) { return any_case ? lower_ascii(p.at(i)) : p.at(i); };
    const char32_t n1 = low(pos + 1);
    if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') {
        return pos + 2;
    }
    if (pos + 2 < p.e) {
        const char32_t n2 = low(pos + 2);
        if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l')) {
            return pos + 3;
        }
    }
    return pos;
}

// \s+(?!\S) then \s+, given n >= 1 whitespace code points at pos: a run that
// ends before a non-space leaves its last space to the next word.
std::size_t whitespace_run(const piece& p, std::size_t pos, std::size_t n) {
    return n > 1 && pos + n < p.e ? pos + n - 1 : pos + n;
}

// GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
void scan_gpt2(const piece& p, std::vector<std::uint32_t>& out) {
    emitter em{out, p.b};
    for (std::size_t pos = p.b; pos < p.e;) {
        if (const std::size_t c = contraction(p, pos, false); c != pos) {
            em.to(pos = c);
            continue;
        }
        const std::size_t lead = p.at(pos) == ' ' ? pos + 1 : pos;
        if (p.letter(lead) || p.number(lead) || p.other(lead)) {
            bool (piece::*same)(std::size_t) const = p.letter(lead)   ? &piece::letter
                                                     : p.number(lead) ? &piece::number
                                                                      : &piece::other;
            pos = lead;
            while ((p.*same)(pos)) {
                ++pos;
            }
            em.to(pos);
            continue;
        }
        std::size_t n = 0;
        while (p.ws(pos + n)) {
            ++n;
        }
        em.to(pos = n > 0 ? whitespace_run(p, pos, n) : pos + 1);
    }
}

// Llama 3 (max_digits 3) and Qwen2 (1):
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
void scan_llama3(const piece& p, std::size_t max_digits, std::vector<std::uint32_t>& out) {
    emitter em{out, p.b};
    for (std::size_t pos = p.b; pos < p.e;) {
        if (const std::size_t c = contraction(p, pos, true); c != pos) {
            em.to(pos = c);
            continue;
        }
        if (!p.newline(pos) && !p.number(pos) && (p.letter(pos) || p.letter(pos + 1))) {
            ++pos;
            while (p.letter(pos)) {
                ++pos;
            }
            em.to(pos);
            continue;
        }
        if (p.number(pos)) {
            for (std::size_t first = pos; p.number(pos);) {
                if (++pos - first >= max_digits) {
                    em.to(pos);
                    first = pos;
                }
            }
            em.to(pos);
            continue;
        }
        const std::size_t lead = p.at(pos) == ' ' ? pos + 1 : pos;
        if (p.other(lead)) {
            pos = lead;
            while (p.other(pos)) {
                ++pos;
            }
            while (p.newline(pos)) {
                ++pos;
            }
            em.to(pos);
            continue;
        }
        std::size_t n = 0, after_newline = 0;
        for (; p.ws(pos + n); ++n) {
            if (p.newline(pos + n)) {
                after_newline = pos + n + 1;
            }
        }
        if (after_newline > 0) {
            em.to(pos = after_newline); // \s*[\r\n]+
            continue;
        }
        em.to(pos = n > 0 ? whitespace_run(p, pos, n) : pos + 1);
    }
}

// A regex split: matches and the text between them both become words.
// match(p, pos) returns the end of the match starting at pos, or pos.
template <class Match>
void split_matches(const piece& p, Match match, std::vector<std::uint32_t>& out) {
    emitter em{out, p.b};
    for (std::size_t pos = p.b; pos < p.e;) {
        const std::size_t end = match(p, pos);
        if (end > pos) {
            em.to(pos);
            em.to(pos = end);
        } else {
            ++pos;
        }
    }
    em.to(p.e);
}

// \s?X+ for a class test X.
template <class Test> std::size_t space_then_run(const piece& p, std::size_t pos, Test x) {
    std::size_t i = p.ws(pos) && x(p, pos + 1) ? pos + 1 : pos;
    if (!x(p, i)) {
        return pos;
    }
    while (x(p, i)) {
        ++i;
    }
    return i;
}

bool is_letter(const piece& p, std::size_t i) {
    return p.letter(i);
}
bool is_punct(const piece& p, std::size_t i) {
    return p.is(i, ucat::punct);
}

// [一-龥ࠀ-一가-퟿] on text whose non-ASCII spaces became U+000B.
bool is_cjk(const piece& p, std::size_t i) {
    const char32_t c = p.at(i);
    if (c >= 0x80 && p.ws(i)) {
        return false;
    }
    return (c >= 0x4e00 && c <= 0x9fa5) || (c >= 0x0800 && c <= 0x4e00) ||
           (c >= 0xac00 && c <= 0xd7ff);
}

// [\p{P}\$\+<=>\^~\|]
bool is_default_punct(const piece& p, std::size_t i) {
    const char32_t c = p.at(i);
    return p.is(i, ucat::punct) || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' ||
           c == '^' || c == '~' || c == '|';
}

std::size_t match_number(const piece& p, std::size_t pos) {
    return p.number(pos) ? pos + 1 : pos;
}

std::size_t match_numbers(const piece& p, std::size_t pos) {
    while (p.number(pos)) {
        ++pos;
    }
    return pos;
}

std::size_t match_newline(const piece& p, std::size_t pos) {
    return p.newline(pos) ? pos + 1 : pos;
}

template <bool (*Test)(const piece&, std::size_t)>
std::size_t match_run(const piece& p, std::size_t pos) {
    while (Test(p, pos)) {
        ++pos;
    }
    return pos;
}

template <bool (*Test)(const piece&, std::size_t)>
std::size_t match_space_run(const piece& p, std::size_t pos) {
    return space_then_run(p, pos, Test);
}

std::size_t match_three_digits(const piece& p, std::size_t pos) {
    auto digit = [&](std::size_t i) { return p.at(i) >= '0' && p.at(i) <= '9'; };
    return digit(pos) && digit(pos + 1) && digit(pos + 2) ? pos + 3 : pos;
}

using pass_fn = void (*)(const piece&, std::vector<std::uint32_t>&);

template <std::size_t (*Match)(const piece&, std::size_t)>
void regex_pass(const piece& p, std::vector<std::uint32_t>& out) {
    split_matches(p, Match, out);
}
void gpt2_pass(const piece& p, std::vector<std::uint32_t>& out) {
    scan_gpt2(p, out);
}
void llama3_pass(const piece& p, std::vector<std::uint32_t>& out) {
    scan_llama3(p, 3, out);
}
void qwen2_pass(const piece& p, std::vector<std::uint32_t>& out) {
    scan_llama3(p, 1, out);
}

std::span<const pass_fn> passes(bpe_pre kind) {
    static constexpr pass_fn gpt2[] = {gpt2_pass};
    static constexpr pass_fn llama3[] = {llama3_pass};
    static constexpr pass_fn qwen2[] = {qwen2_pass};
    static constexpr pass_fn starcoder[] = {regex_pass<match_number>, gpt2_pass};
    static constexpr pass_fn deepseek_coder[] = {
        regex_pass<match_newline>, regex_pass<match_space_run<is_letter>>,
        regex_pass<match_space_run<is_punct>>, regex_pass<match_run<is_cjk>>,
        regex_pass<match_number>};
    static constexpr pass_fn default_[] = {regex_pass<match_run<is_default_punct>>, gpt2_pass,
                                           regex_pass<match_numbers>,
                                           regex_pass<match_three_digits>};
    switch (kind) {
    case bpe_pre::gpt2:
        return gpt2;
    case bpe_pre::llama3:
        return llama3;
    case bpe_pre::qwen2:
        return qwen2;
    case bpe_pre::starcoder:
        return starcoder;
    case bpe_pre::deepseek_coder:
        return deepseek_coder;
    case bpe_pre::default_:
        return default_;
    }
    return default_;
}

struct named_pre {
    std::string_view name;
    bpe_pre_info info;
};

// llama.cpp's names (llama-vocab.cpp) for the splits implemented here, with
// the flags it sets for them.
constexpr std::array<named_pre, 25> known_pres{{
    {"default", {bpe_pre::default_, false, false}},
    {"gpt-2", {bpe_pre::gpt2, false, false}},
    {"phi-2", {bpe_pre::gpt2, false, false}},
    {"mpt", {bpe_pre::gpt2, false, false}},
    {"olmo", {bpe_pre::gpt2, false, false}},
    {"jais", {bpe_pre::gpt2, false, false}},
    {"exaone4", {bpe_pre::gpt2, false, false}},
    {"llama3", {bpe_pre::llama3, true, true}},
    {"llama-v3", {bpe_pre::llama3, true, true}},
    {"llama-bpe", {bpe_pre::llama3, true, true}},
    {"falcon3", {bpe_pre::llama3, true, true}},
    {"dbrx", {bpe_pre::llama3, false, false}},
    {"smaug-bpe", {bpe_pre::llama3, false, false}},
    {"qwen2", {bpe_pre::qwen2, false, false}},
    {"deepseek-r1-qwen", {bpe_pre::qwen2, false, false}},
    {"stablelm2", {bpe_pre::qwen2, false, false}},
    {"megrez", {bpe_pre::qwen2, false, false}},
    {"starcoder", {bpe_pre::starcoder, false, false}},
    {"refact", {bpe_pre::starcoder, false, false}},
    {"command-r", {bpe_pre::starcoder, false, false}},
    {"smollm", {bpe_pre::starcoder, false, false}},
    {"codeshell", {bpe_pre::starcoder, false, false}},
    {"exaone", {bpe_pre::starcoder, false, false}},
    {"minerva-7b", {bpe_pre::starcoder, false, false}},
    {"deepseek-coder", {bpe_pre::deepseek_coder, false, false}},
}};

} // namespace

std::optional<bpe_pre_info> find_bpe_pre(std::string_view name) {
    for (const auto& k : known_pres) {
        if (k.name == name) {
            return k.info;
        }
    }
    return std::nullopt;
}

void pretokenize(bpe_pre kind, std::span<const char32_t> cps, std::span<const std::uint8_t> flags,
                 std::vector<std::uint32_t>& words) {
    const std::size_t first = words.size();
    if (cps.empty()) {
        return;
    }
    // Each pass splits every word of the previous one further.
    std::vector<std::uint32_t> cur{std::uint32_t(cps.size())}, next;
    for (const pass_fn pass : passes(kind)) {
        next.clear();
        std::size_t b = 0;
        for (const std::uint32_t len : cur) {
            pass(piece{cps, flags, b, b + len}, next);
            b += len;
        }
        cur.swap(next);
    }
    words.resize(first);
    words.insert(words.end(), cur.begin(), cur.end());
}

} // namespace radixrt::runtime::detail
