#pragma once
// Pre-tokenizers of byte-level BPE vocabularies: hand-written scanners that
// split text into words exactly as llama.cpp's regexes for each
// `tokenizer.ggml.pre` do (its custom GPT-2 / Llama 3 scanners, and its
// std::regex splits on category-collapsed text for the others).
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace radixrt::runtime::detail {

enum class bpe_pre : std::uint8_t {
    gpt2,           // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    llama3,         // (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|...
    qwen2,          // as llama3 with \p{N} (one digit per word)
    starcoder,      // \p{N}, then gpt2
    deepseek_coder, // [\r\n], \s?\p{L}+, \s?\p{P}+, [一-龥ࠀ-一가-퟿]+, \p{N}
    default_,       // [\p{P}\$\+<=>\^~\|]+, then gpt2, \p{N}+, [0-9][0-9][0-9]
};

/// What a `tokenizer.ggml.pre` name selects.
struct bpe_pre_info {
    bpe_pre kind;
    bool ignore_merges; // a word that is a whole token is taken as is (Llama 3)
    bool add_bos;       // default of tokenizer.ggml.add_bos_token
};
/// nullopt for a name this runtime does not know.
std::optional<bpe_pre_info> find_bpe_pre(std::string_view name);

/// Splits cps (flags: unicode_flags of each) into words; appends each word's
/// length in code points to words.
void pretokenize(bpe_pre kind, std::span<const char32_t> cps, std::span<const std::uint8_t> flags,
                 std::vector<std::uint32_t>& words);

} // namespace radixrt::runtime::detail
