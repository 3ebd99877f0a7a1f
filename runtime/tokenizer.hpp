#pragma once
// Tokenizer for GGUF vocabularies, as llama.cpp runs them:
// - `llama` (SentencePiece): score-driven bigram merges over UTF-8
//   characters, byte fallback (<0xXX>), the leading space rule, control
//   tokens. The built-in model uses a byte-level vocabulary of this kind
//   (every character falls back to bytes).
// - `gpt2` (byte-level BPE): a pre-tokenizer chosen by tokenizer.ggml.pre,
//   then rank-ordered merges over bytes (runtime/bpe_tokenizer.hpp).
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/gguf.hpp"

namespace radixrt::runtime {

using token_id = std::int32_t;

namespace detail {
class bpe_model;
} // namespace detail

/// GGUF tokenizer.ggml.token_type values.
enum class token_kind : std::uint8_t {
    normal = 1,
    unknown = 2,
    control = 3,
    user_defined = 4,
    unused = 5,
    byte = 6
};

class tokenizer {
  public:
    /// Reads tokenizer.ggml.* metadata. Throws gguf_error for a missing or
    /// unsupported vocabulary (`llama` / SentencePiece and `gpt2` / byte-level
    /// BPE are supported) or an unknown tokenizer.ggml.pre.
    static tokenizer from_gguf(const gguf_file& f);

    /// Token ids of text. add_bos prepends BOS (and appends EOS, byte-level
    /// BPE only) when the vocabulary wants it; parse_special turns
    /// control-token texts (e.g. "<s>") into their ids. Byte-level BPE, like
    /// llama.cpp, always splits off user-defined token texts.
    std::vector<token_id> encode(std::string_view text, bool add_bos,
                                 bool parse_special = false) const;

    /// The bytes a token stands for ("▁" becomes a space; control tokens are empty).
    std::string piece(token_id id) const;
    std::string decode(std::span<const token_id> ids) const;

    std::size_t vocab_size() const { return tokens_.size(); }
    token_id bos() const { return bos_; }
    token_id eos() const { return eos_; }
    bool add_bos() const { return add_bos_; }
    bool add_eos() const { return add_eos_; }
    /// True for a byte-level BPE (`gpt2`) vocabulary.
    bool byte_level() const { return bpe_ != nullptr; }
    /// End of generation: EOS or another end-of-turn control token.
    bool is_eog(token_id id) const;
    const std::string& text(token_id id) const { return tokens_[std::size_t(id)]; }
    bool valid(token_id id) const { return id >= 0 && std::size_t(id) < tokens_.size(); }
    /// The GGUF token type of a valid id (grammar masks skip control tokens).
    token_kind kind(token_id id) const { return kinds_[std::size_t(id)]; }
    /// The id of a token's exact text, or -1.
    token_id lookup(std::string_view s) const;

  private:
    // Byte-level BPE loading and encoding: runtime/tokenizer_bpe.cpp.
    static tokenizer from_gguf_bpe(const gguf_file& f);
    std::vector<token_id> encode_bpe(std::string_view text, bool add_special,
                                     bool parse_special) const;
    void read_vocab(const gguf_file& f);
    token_id read_id(const gguf_file& f, const char* key, token_id fallback) const;
    void encode_fragment(std::string_view text, std::vector<token_id>& out) const;

    std::vector<std::string> tokens_;
    std::vector<float> scores_;
    std::vector<token_kind> kinds_;
    std::unordered_map<std::string, token_id> index_;
    token_id byte_tokens_[256];
    token_id bos_ = 1, eos_ = 2, unk_ = 0, eot_ = -1;
    bool add_bos_ = true;
    bool add_space_prefix_ = true;
    // Byte-level BPE only.
    std::shared_ptr<const detail::bpe_model> bpe_;
    std::vector<std::string> pieces_; // decoded bytes per token
    std::vector<token_id> eog_;       // sorted
    bool add_eos_ = false;
};

/// Turns a stream of token ids into valid UTF-8 text: bytes of an unfinished
/// character wait for the next token; bytes that can never form a character
/// become U+FFFD.
class stream_decoder {
  public:
    /// shown: control tokens that decode to their text (sorted), not to nothing.
    explicit stream_decoder(const tokenizer& tok, std::vector<token_id> shown = {})
        : tok_(&tok), shown_(std::move(shown)) {}
    /// Text completed by this token (possibly empty).
    std::string push(token_id id);
    /// Whatever is left at the end (an incomplete sequence becomes U+FFFD).
    std::string flush();

  private:
    const tokenizer* tok_;
    std::vector<token_id> shown_;
    std::string pending_;
};

/// Length of the longest prefix of s made of complete UTF-8 sequences;
/// an invalid lead byte counts as complete and is passed through.
std::size_t utf8_complete_prefix(std::string_view s);

} // namespace radixrt::runtime
