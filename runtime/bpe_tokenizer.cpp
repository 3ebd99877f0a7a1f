#include "runtime/bpe_tokenizer.hpp"

#include <algorithm>
#include <bit>

#include "runtime/unicode.hpp"

namespace radixrt::runtime::detail {
namespace {

// A token text mapped back to bytes; false if a code point is not one of
// the 256 the byte mapping uses (such a token can never come out of BPE).
bool text_to_bytes(std::string_view text, std::string& raw) {
    raw.clear();
    for (std::size_t pos = 0; pos < text.size();) {
        const int b = cpt_to_byte(utf8_decode(text, pos));
        if (b < 0) {
            return false;
        }
        raw.push_back(char(b));
    }
    return true;
}

// Symbol ids are below 2^31, so the top bit marks a used slot (key 0 is empty).
std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
    return (std::uint64_t(1) << 63) | (std::uint64_t(std::uint32_t(left)) << 32) |
           std::uint32_t(right);
}

std::size_t slot_of(std::uint64_t key, unsigned shift) {
    return std::size_t((key * 0x9e3779b97f4a7c15ull) >> shift);
}

// A run of the word's bytes, linked to its neighbours.
struct symbol {
    std::int32_t prev, next;
    std::uint32_t start, len;
    std::int32_t sid;
};

struct bigram {
    std::int32_t rank, left, right;
    std::uint32_t len; // left.len + right.len when queued: a mismatch means stale
};

// Heap order: the top is the lowest rank, then the leftmost pair.
bool worse(const bigram& a, const bigram& b) {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
}

} // namespace

struct bpe_model::scratch {
    std::vector<char32_t> cps;
    std::vector<std::uint8_t> flags;
    std::vector<std::uint32_t> offsets; // byte offset of each code point, and the end
    std::vector<std::uint32_t> words;
    std::string clean;
    std::vector<symbol> syms;
    std::vector<bigram> heap;
};

bpe_model::bpe_model(std::span<const std::string> tokens, std::span<const token_kind> kinds,
                     std::span<const std::string> merges, bpe_pre_info pre)
    : pre_(pre) {
    n_tokens_ = std::int32_t(tokens.size());
    next_sid_ = n_tokens_;
    std::fill(std::begin(single_char_token_), std::end(single_char_token_), -1);
    std::string raw;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (tokens[i].size() == 1 &&
            single_char_token_[static_cast<unsigned char>(tokens[i][0])] < 0) {
            single_char_token_[static_cast<unsigned char>(tokens[i][0])] = token_id(i);
        }
        if (!tokens[i].empty() && text_to_bytes(tokens[i], raw)) {
            sid_of_.emplace(raw, std::int32_t(i)); // the first of duplicates wins
        }
        const token_kind k = kinds[i];
        if (k == token_kind::control || k == token_kind::user_defined || k == token_kind::unknown) {
            specials_.emplace_back(token_id(i), tokens[i]);
        }
    }
    for (int b = 0; b < 256; ++b) {
        byte_sid_[b] = intern(std::string(1, char(b)));
    }
    // Merges "A B": split at the first space after the first character.
    std::vector<merge_entry> entries;
    std::string left, right;
    for (std::size_t rank = 0; rank < merges.size(); ++rank) {
        const std::string_view m = merges[rank];
        const std::size_t sp = m.find(' ', 1);
        if (sp == std::string_view::npos || !text_to_bytes(m.substr(0, sp), left) ||
            !text_to_bytes(m.substr(sp + 1), right)) {
            continue; // cannot match any byte string
        }
        const std::int32_t l = intern(left), r = intern(right);
        entries.push_back({pair_key(l, r), std::int32_t(rank), intern(left + right)});
    }
    const std::size_t cap = std::bit_ceil(std::max<std::size_t>(16, entries.size() * 2));
    merge_shift_ = unsigned(64 - std::countr_zero(cap));
    merges_.assign(cap, merge_entry{0, 0, 0});
    for (const merge_entry& e : entries) {
        std::size_t s = slot_of(e.key, merge_shift_);
        while (merges_[s].key != 0 && merges_[s].key != e.key) {
            s = (s + 1) & (cap - 1);
        }
        if (merges_[s].key == 0) { // a repeated pair keeps its first (lowest) rank
            merges_[s] = e;
        }
    }
    std::stable_sort(specials_.begin(), specials_.end(), [](const auto& a, const auto& b) {
        return a.second.size() > b.second.size();
    });
    for (const auto& [id, text] : specials_) {
        special_is_control_.push_back(kinds[std::size_t(id)] != token_kind::user_defined);
    }
}

std::int32_t bpe_model::intern(const std::string& raw) {
    auto [it, fresh] = sid_of_.emplace(raw, next_sid_);
    if (fresh) {
        ++next_sid_;
    }
    return it->second;
}

const bpe_model::merge_entry* bpe_model::find_merge(std::int32_t left, std::int32_t right) const {
    const std::uint64_t key = pair_key(left, right);
    for (std::size_t s = slot_of(key, merge_shift_);; s = (s + 1) & (merges_.size() - 1)) {
        const merge_entry& e = merges_[s];
        if (e.key == key) {
            return &e;
        }
        if (e.key == 0) {
            return nullptr;
        }
    }
}

void bpe_model::emit_symbol(std::string_view raw, std::int32_t sid,
                            std::vector<token_id>& out) const {
    if (sid < n_tokens_) {
        out.push_back(sid);
        return;
    }
    std::string mapped;
    for (const char c : raw) {
        mapped.clear();
        utf8_append(mapped, byte_to_cpt(static_cast<unsigned char>(c)));
        for (const char m : mapped) {
            if (const token_id t = single_char_token_[static_cast<unsigned char>(m)]; t >= 0) {
                out.push_back(t);
            }
        }
    }
}

void bpe_model::encode_word(std::string_view raw, scratch& s, std::vector<token_id>& out) const {
    if (raw.empty()) {
        return;
    }
    if (pre_.ignore_merges) {
        if (auto it = sid_of_.find(std::string(raw));
            it != sid_of_.end() && it->second < n_tokens_) {
            out.push_back(it->second);
            return;
        }
    }
    auto& syms = s.syms;
    auto& heap = s.heap;
    syms.clear();
    heap.clear();
    for (std::uint32_t i = 0; i < raw.size(); ++i) {
        syms.push_back({std::int32_t(i) - 1, std::int32_t(i) + 1, i, 1,
                        byte_sid_[static_cast<unsigned char>(raw[i])]});
    }
    syms.back().next = -1;
    auto try_add = [&](std::int32_t l, std::int32_t r) {
        if (l < 0 || r < 0) {
            return;
        }
        if (const merge_entry* m = find_merge(syms[std::size_t(l)].sid, syms[std::size_t(r)].sid)) {
            heap.push_back({m->rank, l, r, syms[std::size_t(l)].len + syms[std::size_t(r)].len});
            std::push_heap(heap.begin(), heap.end(), worse);
        }
    };
    for (std::int32_t i = 1; i < std::int32_t(syms.size()); ++i) {
        try_add(i - 1, i);
    }
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), worse);
        const bigram b = heap.back();
        heap.pop_back();
        symbol& l = syms[std::size_t(b.left)];
        symbol& r = syms[std::size_t(b.right)];
        if (l.len == 0 || r.len == 0 || l.len + r.len != b.len) {
            continue; // stale: one side has changed since
        }
        l.sid = find_merge(l.sid, r.sid)->result;
        l.len += r.len;
        r.len = 0;
        l.next = r.next;
        if (r.next >= 0) {
            syms[std::size_t(r.next)].prev = b.left;
        }
        try_add(l.prev, b.left);
        try_add(b.left, l.next);
    }
    for (std::int32_t i = 0; i >= 0; i = syms[std::size_t(i)].next) {
        const symbol& sym = syms[std::size_t(i)];
        emit_symbol(raw.substr(sym.start, sym.len), sym.sid, out);
    }
}

void bpe_model::encode_text(std::string_view text, scratch& s, std::vector<token_id>& out) const {
    // Code points as llama.cpp decodes them; invalid bytes become U+FFFD,
    // and then the words are cut from the re-encoded text.
    s.cps.clear();
    s.offsets.clear();
    bool replaced = false;
    for (std::size_t pos = 0; pos < text.size();) {
        s.offsets.push_back(std::uint32_t(pos));
        const std::size_t before = pos;
        const char32_t cp = utf8_decode(text, pos);
        replaced |=
            cp == 0xfffd && !(pos - before == 3 && text.substr(before, 3) == "\xef\xbf\xbd");
        s.cps.push_back(cp);
    }
    s.offsets.push_back(std::uint32_t(text.size()));
    if (replaced) {
        s.clean.clear();
        for (std::size_t i = 0; i < s.cps.size(); ++i) {
            s.offsets[i] = std::uint32_t(s.clean.size());
            utf8_append(s.clean, s.cps[i]);
        }
        s.offsets.back() = std::uint32_t(s.clean.size());
        text = s.clean;
    }
    s.flags.resize(s.cps.size());
    std::transform(s.cps.begin(), s.cps.end(), s.flags.begin(), unicode_flags);
    s.words.clear();
    pretokenize(pre_.kind, s.cps, s.flags, s.words);
    std::size_t cp = 0;
    for (const std::uint32_t len : s.words) {
        const std::uint32_t b = s.offsets[cp], e = s.offsets[cp + len];
        encode_word(text.substr(b, e - b), s, out);
        cp += len;
    }
}

void bpe_model::encode(std::string_view text, bool parse_special,
                       std::vector<token_id>& out) const {
    // Fragments: plain text [begin, end) with id -1, or one special token.
    struct fragment {
        std::size_t begin, end;
        token_id id;
    };
    std::vector<fragment> frags{{0, text.size(), -1}}, next;
    if (text.empty()) {
        frags.clear();
    }
    for (std::size_t k = 0; k < specials_.size(); ++k) {
        const auto& [id, tok] = specials_[k];
        if ((!parse_special && special_is_control_[k]) || tok.empty()) {
            continue;
        }
        next.clear();
        for (const fragment& f : frags) {
            std::size_t pos = f.begin;
            for (std::size_t hit; f.id < 0 && (hit = text.substr(0, f.end).find(tok, pos)) !=
                                                  std::string_view::npos;) {
                if (hit > pos) {
                    next.push_back({pos, hit, -1});
                }
                next.push_back({hit, hit + tok.size(), id});
                pos = hit + tok.size();
            }
            if (f.id >= 0) {
                next.push_back(f);
            } else if (pos < f.end) {
                next.push_back({pos, f.end, -1});
            }
        }
        frags.swap(next);
    }
    scratch s;
    for (const fragment& f : frags) {
        if (f.id >= 0) {
            out.push_back(f.id);
        } else {
            encode_text(text.substr(f.begin, f.end - f.begin), s, out);
        }
    }
}

std::string bpe_model::decode_bytes(std::string_view token_text) {
    std::string out;
    for (std::size_t pos = 0; pos < token_text.size();) {
        const std::size_t before = pos;
        const int b = cpt_to_byte(utf8_decode(token_text, pos));
        if (b >= 0) {
            out.push_back(char(b));
        } else {
            out.append(token_text.substr(before, pos - before));
        }
    }
    return out;
}

} // namespace radixrt::runtime::detail
