#include "runtime/tokenizer.hpp"

#include <algorithm>
#include <cstdio>
#include <queue>

namespace radixrt::runtime {
namespace {

constexpr std::string_view space_marker = "\xe2\x96\x81"; // U+2581 "▁"

std::size_t utf8_len(unsigned char c) {
    if (c < 0x80) {
        return 1;
    }
    if ((c & 0xe0) == 0xc0) {
        return 2;
    }
    if ((c & 0xf0) == 0xe0) {
        return 3;
    }
    if ((c & 0xf8) == 0xf0) {
        return 4;
    }
    return 1; // stray continuation or invalid lead byte: a symbol of its own
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
    std::string out;
    std::size_t pos = 0;
    while (true) {
        const auto hit = s.find(from, pos);
        out.append(s.substr(pos, hit - pos));
        if (hit == std::string_view::npos) {
            return out;
        }
        out.append(to);
        pos = hit + from.size();
    }
}

// A symbol is a run of the normalised text, linked to its neighbours.
struct symbol {
    int prev, next;
    std::size_t start, len;
};

struct bigram {
    int left, right;
    float score;
    std::size_t len;
    bool operator<(const bigram& o) const { // max-heap: best score, then leftmost
        return score < o.score || (score == o.score && left > o.left);
    }
};

} // namespace

tokenizer tokenizer::from_gguf(const gguf_file& f) {
    const auto kind = f.get_string("tokenizer.ggml.model");
    if (!kind) {
        throw gguf_error("the file has no tokenizer (tokenizer.ggml.model is missing)");
    }
    if (*kind == "gpt2") {
        return from_gguf_bpe(f);
    }
    if (*kind != "llama") {
        throw gguf_error("tokenizer '" + *kind +
                         "' is not supported (supported: llama / SentencePiece, gpt2 / "
                         "byte-level BPE)");
    }
    tokenizer t;
    t.read_vocab(f);
    const std::size_t n = t.tokens_.size();
    t.bos_ = t.read_id(f, "tokenizer.ggml.bos_token_id", 1);
    t.eos_ = t.read_id(f, "tokenizer.ggml.eos_token_id", 2);
    t.unk_ = t.read_id(f, "tokenizer.ggml.unknown_token_id", 0);
    t.eot_ = t.read_id(f, "tokenizer.ggml.eot_token_id", -1);
    if (const auto* v = f.find("tokenizer.ggml.add_bos_token");
        v && std::holds_alternative<bool>(*v)) {
        t.add_bos_ = std::get<bool>(*v);
    }
    if (const auto* v = f.find("tokenizer.ggml.add_space_prefix");
        v && std::holds_alternative<bool>(*v)) {
        t.add_space_prefix_ = std::get<bool>(*v);
    }
    std::fill(std::begin(t.byte_tokens_), std::end(t.byte_tokens_), -1);
    for (std::size_t i = 0; i < n; ++i) {
        if (t.kinds_[i] == token_kind::byte) {
            unsigned b = 0;
            if (std::sscanf(t.tokens_[i].c_str(), "<0x%02X>", &b) == 1 && b < 256) {
                t.byte_tokens_[b] = token_id(i);
            }
        }
    }
    return t;
}

void tokenizer::read_vocab(const gguf_file& f) {
    const gguf_array* toks = f.get_array("tokenizer.ggml.tokens");
    if (toks == nullptr || toks->strings.empty() || toks->strings.size() > (1u << 24)) {
        throw gguf_error("tokenizer.ggml.tokens is missing or empty");
    }
    tokens_ = toks->strings;
    const std::size_t n = tokens_.size();
    scores_.assign(n, 0.0f);
    kinds_.assign(n, token_kind::normal);
    if (const gguf_array* s = f.get_array("tokenizer.ggml.scores")) {
        if (s->floats.size() != n) {
            throw gguf_error("tokenizer.ggml.scores has " + std::to_string(s->size()) +
                             " entries for " + std::to_string(n) + " tokens");
        }
        std::transform(s->floats.begin(), s->floats.end(), scores_.begin(),
                       [](double d) { return float(d); });
    }
    if (const gguf_array* k = f.get_array("tokenizer.ggml.token_type")) {
        if (k->ints.size() != n) {
            throw gguf_error("tokenizer.ggml.token_type has the wrong length");
        }
        for (std::size_t i = 0; i < n; ++i) {
            const auto v = k->ints[i];
            kinds_[i] = v >= 1 && v <= 6 ? token_kind(v) : token_kind::normal;
        }
    }
    for (std::size_t i = 0; i < n; ++i) {
        index_.emplace(tokens_[i], token_id(i));
    }
}

token_id tokenizer::read_id(const gguf_file& f, const char* key, token_id fallback) const {
    auto v = f.get_uint(key);
    if (!v) {
        return fallback;
    }
    if (*v >= tokens_.size()) {
        throw gguf_error(std::string(key) + " = " + std::to_string(*v) +
                         " is outside the vocabulary");
    }
    return token_id(*v);
}

token_id tokenizer::lookup(std::string_view s) const {
    auto it = index_.find(std::string(s));
    return it == index_.end() ? -1 : it->second;
}

bool tokenizer::is_eog(token_id id) const {
    if (bpe_) {
        return std::binary_search(eog_.begin(), eog_.end(), id);
    }
    return id == eos_ || (eot_ >= 0 && id == eot_);
}

void tokenizer::encode_fragment(std::string_view raw, std::vector<token_id>& out) const {
    const std::string text = replace_all(raw, " ", space_marker);
    std::vector<symbol> syms;
    for (std::size_t pos = 0; pos < text.size();) {
        const std::size_t len =
            std::min(utf8_len(static_cast<unsigned char>(text[pos])), text.size() - pos);
        syms.push_back({int(syms.size()) - 1, int(syms.size()) + 1, pos, len});
        pos += len;
    }
    if (syms.empty()) {
        return;
    }
    syms.back().next = -1;
    std::priority_queue<bigram> queue;
    auto try_add = [&](int l, int r) {
        if (l < 0 || r < 0) {
            return;
        }
        const std::string_view s(text.data() + syms[l].start, syms[l].len + syms[r].len);
        const token_id id = lookup(s);
        if (id >= 0) {
            queue.push({l, r, scores_[std::size_t(id)], s.size()});
        }
    };
    for (int i = 1; i < int(syms.size()); ++i) {
        try_add(i - 1, i);
    }
    while (!queue.empty()) {
        const bigram b = queue.top();
        queue.pop();
        symbol& l = syms[b.left];
        symbol& r = syms[b.right];
        if (l.len == 0 || r.len == 0 || l.len + r.len != b.len) {
            continue; // stale: one side was merged since
        }
        l.len += r.len;
        r.len = 0;
        l.next = r.next;
        if (r.next >= 0) {
            syms[r.next].prev = b.left;
        }
        try_add(l.prev, b.left);
        try_add(b.left, l.next);
    }
    for (int i = 0; i >= 0; i = syms[i].next) {
        const std::string_view s(text.data() + syms[i].start, syms[i].len);
        if (const token_id id = lookup(s); id >= 0) {
            out.push_back(id);
            continue;
        }
        for (unsigned char c : s) { // byte fallback
            const token_id bt = byte_tokens_[c];
            out.push_back(bt >= 0 ? bt : unk_);
        }
    }
}

std::vector<token_id> tokenizer::encode(std::string_view text, bool add_bos,
                                        bool parse_special) const {
    std::vector<token_id> out;
    if (bpe_) {
        return encode_bpe(text, add_bos, parse_special);
    }
    if (add_bos && add_bos_) {
        out.push_back(bos_);
    }
    // Split on control-token texts when asked; the space prefix goes only in
    // front of the first piece of plain text that opens the input.
    std::size_t pos = 0;
    bool first = true;
    while (pos < text.size()) {
        std::size_t hit = std::string_view::npos, hit_len = 0;
        token_id hit_id = -1;
        if (parse_special) {
            for (std::size_t i = 0; i < tokens_.size(); ++i) {
                if (kinds_[i] != token_kind::control && kinds_[i] != token_kind::user_defined) {
                    continue;
                }
                const auto p =
                    tokens_[i].empty() ? std::string_view::npos : text.find(tokens_[i], pos);
                if (p < hit || (p == hit && tokens_[i].size() > hit_len)) {
                    hit = p;
                    hit_len = tokens_[i].size();
                    hit_id = token_id(i);
                }
            }
        }
        const std::string_view plain =
            text.substr(pos, hit == std::string_view::npos ? hit : hit - pos);
        if (!plain.empty()) {
            std::string piece;
            if (add_space_prefix_ && first) {
                piece.push_back(' ');
            }
            piece.append(plain);
            encode_fragment(piece, out);
        }
        first = false;
        if (hit == std::string_view::npos) {
            break;
        }
        out.push_back(hit_id);
        pos = hit + hit_len;
    }
    return out;
}

std::string tokenizer::piece(token_id id) const {
    if (!valid(id)) {
        return {};
    }
    if (bpe_) {
        return pieces_[std::size_t(id)];
    }
    const std::string& t = tokens_[std::size_t(id)];
    switch (kinds_[std::size_t(id)]) {
    case token_kind::normal:
        return replace_all(t, space_marker, " ");
    case token_kind::unknown:
        return "\xe2\x96\x85"; // U+2585, as SentencePiece shows <unk>
    case token_kind::byte: {
        unsigned b = 0;
        return std::sscanf(t.c_str(), "<0x%02X>", &b) == 1 ? std::string(1, char(b))
                                                           : std::string();
    }
    case token_kind::user_defined:
        return t;
    case token_kind::control:
    case token_kind::unused:
        return {};
    }
    return {};
}

std::string tokenizer::decode(std::span<const token_id> ids) const {
    std::string out;
    for (token_id id : ids) {
        out += piece(id);
    }
    return out;
}

namespace {

// Length of a valid UTF-8 sequence at the start of s: 0 if s is a proper
// prefix of one (wait for more), -1 if the lead or a continuation is invalid.
int utf8_sequence(std::string_view s) {
    const auto c = static_cast<unsigned char>(s[0]);
    const std::size_t len = utf8_len(c);
    if (len == 1) {
        return c < 0x80 ? 1 : -1;
    }
    for (std::size_t j = 1; j < len; ++j) {
        if (j >= s.size()) {
            return 0;
        }
        if ((static_cast<unsigned char>(s[j]) & 0xc0) != 0x80) {
            return -1;
        }
    }
    return int(len);
}

} // namespace

std::size_t utf8_complete_prefix(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const int n = utf8_sequence(s.substr(i));
        if (n == 0) {
            return i;
        }
        i += n < 0 ? 1 : std::size_t(n);
    }
    return i;
}

std::string stream_decoder::push(token_id id) {
    pending_ += std::binary_search(shown_.begin(), shown_.end(), id) ? tok_->text(id)
                                                                     : tok_->piece(id);
    std::string out;
    std::size_t i = 0;
    while (i < pending_.size()) {
        const int n = utf8_sequence(std::string_view(pending_).substr(i));
        if (n == 0) {
            break; // unfinished character: wait for the next token
        }
        if (n < 0) {
            out += "\xef\xbf\xbd"; // U+FFFD for a byte that cannot start or continue a character
            ++i;
            continue;
        }
        out.append(pending_, i, std::size_t(n));
        i += std::size_t(n);
    }
    pending_.erase(0, i);
    return out;
}

std::string stream_decoder::flush() {
    std::string out;
    if (!pending_.empty()) {
        out = "\xef\xbf\xbd";
        pending_.clear();
    }
    return out;
}

} // namespace radixrt::runtime
