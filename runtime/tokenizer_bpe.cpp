// The tokenizer's byte-level BPE (`gpt2`) vocabularies: metadata as llama.cpp
// reads it (llama-vocab.cpp, llama_vocab::impl::load), encoding through
// detail::bpe_model.
#include <algorithm>
#include <array>
#include <cstdio>
#include <span>
#include <string_view>

#include "runtime/bpe_tokenizer.hpp"
#include "runtime/tokenizer.hpp"

namespace radixrt::runtime {
namespace {

// Texts llama.cpp recognises by name. Each is made a control token; the
// end-of-generation ones also stop generation.
constexpr std::array<std::string_view, 12> eog_texts{
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<\xef\xbd\x9c"
    "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
    "<|return|>"};
// FIM pad / repo / file-separator tokens: control, and end of generation.
constexpr std::array<std::string_view, 10> fim_eog_texts{
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>",  "<|fim_repo|>", "<|repo_name|>",
    "<fim-repo>",  "<REPO>",    "<reponame>", "<|file_sep|>", "<PAD>"};
// FIM prefix / suffix / middle tokens: control only.
constexpr std::array<std::string_view, 12> fim_texts{
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<PRE>",
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<SUF>",
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<MID>"};

template <std::size_t N>
bool listed(const std::array<std::string_view, N>& list, std::string_view s) {
    return std::find(list.begin(), list.end(), s) != list.end();
}

bool read_bool(const gguf_file& f, const char* key, bool fallback) {
    const auto* v = f.find(key);
    return v && std::holds_alternative<bool>(*v) ? std::get<bool>(*v) : fallback;
}

// Tokens llama.cpp recognises by their text become control tokens; the
// end-of-generation ones join eog (which is left sorted and unique).
void mark_named_specials(std::span<const std::string> tokens, std::vector<token_kind>& kinds,
                         std::vector<token_id>& eog) {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const std::string_view text = tokens[i];
        const bool ends = listed(eog_texts, text) || listed(fim_eog_texts, text);
        if (ends) {
            eog.push_back(token_id(i));
        }
        if (ends || listed(fim_texts, text)) {
            kinds[i] = token_kind::control;
        }
    }
    std::sort(eog.begin(), eog.end());
    eog.erase(std::unique(eog.begin(), eog.end()), eog.end());
}

// What each token prints as: normal tokens through the byte mapping,
// user-defined ones as their text, byte tokens as their byte; control,
// unknown and unused tokens as nothing.
std::vector<std::string> bpe_pieces(std::span<const std::string> tokens,
                                    std::span<const token_kind> kinds) {
    std::vector<std::string> pieces(tokens.size());
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        switch (kinds[i]) {
        case token_kind::normal:
            pieces[i] = detail::bpe_model::decode_bytes(tokens[i]);
            break;
        case token_kind::user_defined:
            pieces[i] = tokens[i];
            break;
        case token_kind::byte: {
            unsigned b = 0;
            if (std::sscanf(tokens[i].c_str(), "<0x%02X>", &b) == 1 && b < 256) {
                pieces[i] = std::string(1, char(b));
            }
            break;
        }
        default:
            break;
        }
    }
    return pieces;
}

} // namespace

tokenizer tokenizer::from_gguf_bpe(const gguf_file& f) {
    tokenizer t;
    t.read_vocab(f);
    const std::size_t n = t.tokens_.size();
    // The pre-tokenizer: llama.cpp refuses a name it does not know and falls
    // back to "default" (with a warning) when the key is missing.
    detail::bpe_pre_info pre{detail::bpe_pre::default_, false, false};
    if (const auto name = f.get_string("tokenizer.ggml.pre")) {
        const auto found = detail::find_bpe_pre(*name);
        if (!found) {
            throw gguf_error("tokenizer.ggml.pre '" + *name +
                             "' is not supported (supported: default, gpt-2, llama3 / "
                             "llama-bpe, qwen2, starcoder, deepseek-coder and their aliases)");
        }
        pre = *found;
    } else {
        std::fprintf(stderr, "radixrt: tokenizer.ggml.pre is missing; using the 'default' "
                             "pre-tokenizer (tokens may differ from the model's training)\n");
    }
    const gguf_array* merges = f.get_array("tokenizer.ggml.merges");
    if (merges == nullptr || merges->elem != gguf_type::string) {
        throw gguf_error("tokenizer.ggml.merges is missing (a gpt2 vocabulary needs its merges)");
    }
    // llama.cpp's defaults for BPE vocabularies; an out-of-range default is off.
    const token_id dflt = n > 11 ? 11 : -1;
    t.bos_ = t.read_id(f, "tokenizer.ggml.bos_token_id", dflt);
    t.eos_ = t.read_id(f, "tokenizer.ggml.eos_token_id", dflt);
    t.unk_ = t.read_id(f, "tokenizer.ggml.unknown_token_id", -1);
    t.eot_ = t.read_id(f, "tokenizer.ggml.eot_token_id", -1);
    const token_id eom = t.read_id(f, "tokenizer.ggml.eom_token_id", -1);
    t.add_bos_ = read_bool(f, "tokenizer.ggml.add_bos_token", pre.add_bos);
    t.add_eos_ = read_bool(f, "tokenizer.ggml.add_eos_token", false);
    if ((t.add_bos_ && t.bos_ < 0) || (t.add_eos_ && t.eos_ < 0)) {
        throw gguf_error(
            "tokenizer.ggml.add_bos_token / add_eos_token is set but the token is not");
    }
    t.add_space_prefix_ = false;
    for (token_id id : {t.eos_, t.eot_, eom}) {
        if (id >= 0) {
            t.eog_.push_back(id);
        }
    }
    mark_named_specials(t.tokens_, t.kinds_, t.eog_);
    t.bpe_ = std::make_shared<const detail::bpe_model>(t.tokens_, t.kinds_, merges->strings, pre);
    t.pieces_ = bpe_pieces(t.tokens_, t.kinds_);
    return t;
}

std::vector<token_id> tokenizer::encode_bpe(std::string_view text, bool add_special,
                                            bool parse_special) const {
    std::vector<token_id> out;
    if (add_special && add_bos_) {
        out.push_back(bos_);
    }
    bpe_->encode(text, parse_special, out);
    if (add_special && add_eos_) {
        out.push_back(eos_);
    }
    return out;
}

} // namespace radixrt::runtime
