#pragma once
// Byte-level BPE (GGUF `tokenizer.ggml.model = gpt2`) as llama.cpp runs it:
// special tokens split off first (longest first), the pre-tokenizer named by
// `tokenizer.ggml.pre` cuts the rest into words, each word's bytes become one
// symbol per byte, and adjacent pairs merge by rank from
// `tokenizer.ggml.merges` (lowest rank first, then leftmost) until no pair
// has a rank. Symbols are byte strings throughout; the GPT-2 byte <->
// code point mapping is applied once, to the vocabulary, at load time.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/bpe_pretokenizer.hpp"
#include "runtime/tokenizer.hpp"

namespace radixrt::runtime::detail {

class bpe_model {
  public:
    /// tokens and kinds as in the file (kinds after llama.cpp's control
    /// fix-ups); merges are "left right" strings in rank order.
    bpe_model(std::span<const std::string> tokens, std::span<const token_kind> kinds,
              std::span<const std::string> merges, bpe_pre_info pre);

    /// Appends the ids of text. User-defined tokens are always split off;
    /// control tokens only when parse_special (as llama.cpp).
    void encode(std::string_view text, bool parse_special, std::vector<token_id>& out) const;

    /// The bytes a normal token stands for (its text mapped back through
    /// the byte mapping; a code point outside it is kept as UTF-8).
    static std::string decode_bytes(std::string_view token_text);

  private:
    struct scratch;
    struct merge_entry {
        std::uint64_t key; // pair_key(left, right); 0 = empty slot
        std::int32_t rank;
        std::int32_t result;
    };

    void encode_text(std::string_view text, scratch& s, std::vector<token_id>& out) const;
    void encode_word(std::string_view raw, scratch& s, std::vector<token_id>& out) const;
    const merge_entry* find_merge(std::int32_t left, std::int32_t right) const;
    std::int32_t intern(const std::string& raw);
    void emit_symbol(std::string_view raw, std::int32_t sid, std::vector<token_id>& out) const;

    // A symbol id names a byte string: ids below n_tokens_ are the token of
    // that id; the rest are merge parts or results that are not tokens.
    std::unordered_map<std::string, std::int32_t> sid_of_;
    std::int32_t n_tokens_ = 0;
    std::int32_t next_sid_ = 0;
    std::int32_t byte_sid_[256];
    // llama.cpp's fallback for a symbol that is no token: each byte of its
    // mapped text looked up as a one-byte token text (-1: dropped).
    token_id single_char_token_[256];
    std::vector<merge_entry> merges_; // open addressing, power-of-two size
    unsigned merge_shift_ = 64;
    std::vector<std::pair<token_id, std::string>> specials_; // longest text first
    std::vector<bool> special_is_control_;
    bpe_pre_info pre_;
};

} // namespace radixrt::runtime::detail
