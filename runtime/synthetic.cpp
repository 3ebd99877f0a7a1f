#include "runtime/synthetic.hpp"

#include <cmath>
#include <stdexcept>

#include "runtime/sampler.hpp"

namespace radixrt::runtime {
namespace {

// Whole words the built-in vocabulary adds after the bytes, so that a random
// model babbles words rather than random bytes. Encoding never produces them
// (SentencePiece merges need every intermediate piece); decoding shows them.
constexpr const char* demo_words[] = {
    "the",   "of",     "and",    "to",      "in",      "is",     "was",     "that",    "for",
    "on",    "with",   "as",     "by",      "at",      "from",   "his",     "her",     "they",
    "we",    "you",    "it",     "this",    "an",      "be",     "are",     "have",    "had",
    "not",   "but",    "or",     "one",     "all",     "there",  "when",    "which",   "their",
    "said",  "time",   "day",    "night",   "little",  "old",    "new",     "great",   "small",
    "house", "river",  "forest", "king",    "queen",   "story",  "world",   "light",   "dark",
    "cat",   "dog",    "bird",   "tree",    "stone",   "road",   "city",    "sea",     "sun",
    "moon",  "star",   "friend", "heart",   "door",    "window", "garden",  "music",   "dream",
    "found", "went",   "came",   "saw",     "made",    "took",   "gave",    "looked",  "walked",
    "ran",   "sang",   "slept",  "laughed", "quietly", "again",  "away",    "home",    "together",
    "never", "always", "once",   "upon",    "long",    "ago",    "morning", "evening", "water",
    "fire",  "wind",   "rain",
};

// Whether a byte-vocabulary token may be sampled by the built-in model:
// words, "▁" and printable ASCII bytes; never control, unused or other bytes.
bool demo_printable(std::size_t id) {
    constexpr std::size_t first_byte = 3, space_token = 259;
    if (id >= first_byte && id < first_byte + 256) {
        const std::size_t b = id - first_byte;
        return b >= 0x21 && b < 0x7f;
    }
    return id >= space_token && id <= space_token + std::size(demo_words);
}

// Byte-level SentencePiece vocabulary: <unk> <s> </s>, the 256 byte tokens,
// "▁" so that a space is one token, the demo words, ChatML's turn markers
// (control; <|im_end|> ends a turn) and the tool-call tags (user-defined: shown
// as text, as in Qwen2.5's vocabulary); padded with unused entries.
void byte_vocab(gguf_writer& w, std::size_t vocab) {
    gguf_array tokens{gguf_type::string, {}, {}, {}};
    gguf_array scores{gguf_type::f32, {}, {}, {}};
    gguf_array types{gguf_type::i32, {}, {}, {}};
    auto add = [&](std::string t, token_kind k) {
        tokens.strings.push_back(std::move(t));
        scores.floats.push_back(0.0);
        types.ints.push_back(std::int64_t(k));
    };
    add("<unk>", token_kind::unknown);
    add("<s>", token_kind::control);
    add("</s>", token_kind::control);
    for (int b = 0; b < 256; ++b) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "<0x%02X>", b);
        add(buf, token_kind::byte);
    }
    add("\xe2\x96\x81", token_kind::normal);
    for (const char* word : demo_words) {
        add("\xe2\x96\x81" + std::string(word), token_kind::normal);
    }
    const std::size_t im_end = tokens.strings.size() + 1;
    for (const char* t : byte_vocab_special_tokens) {
        add(t, t[1] == '|' ? token_kind::control : token_kind::user_defined);
    }
    while (tokens.strings.size() < vocab) {
        add("<unused" + std::to_string(tokens.strings.size()) + ">", token_kind::unused);
    }
    w.add("tokenizer.ggml.model", std::string("llama"));
    w.add("tokenizer.ggml.tokens", std::move(tokens));
    w.add("tokenizer.ggml.scores", std::move(scores));
    w.add("tokenizer.ggml.token_type", std::move(types));
    w.add("tokenizer.ggml.bos_token_id", std::uint64_t(1));
    w.add("tokenizer.ggml.eos_token_id", std::uint64_t(2));
    w.add("tokenizer.ggml.unknown_token_id", std::uint64_t(0));
    w.add("tokenizer.ggml.eot_token_id", std::uint64_t(im_end));
    w.add("tokenizer.chat_template", std::string(byte_vocab_chat_template()));
    w.add("tokenizer.ggml.add_bos_token", true);
    w.add("tokenizer.ggml.add_space_prefix", false);
}

constexpr std::size_t byte_vocab_size =
    260 + std::size(demo_words) + std::size(byte_vocab_special_tokens);

// rows x cols uniform weights with variance scale^2 / cols, stored as type.
std::vector<char> random_matrix(rng& g, std::size_t rows, std::size_t cols, kernels::dtype type,
                                float scale) {
    const float a = scale * std::sqrt(3.0f / float(cols));
    std::vector<float> row(cols);
    const std::size_t rb = kernels::row_bytes(type, cols);
    std::vector<char> out(rows * rb);
    for (std::size_t r = 0; r < rows; ++r) {
        for (auto& v : row) {
            v = float((g.uniform() * 2.0 - 1.0) * a);
        }
        kernels::quantize_row(type, row.data(), cols, out.data() + r * rb);
    }
    return out;
}

std::vector<char> ones(std::size_t n) {
    std::vector<float> v(n, 1.0f);
    return {reinterpret_cast<const char*>(v.data()), reinterpret_cast<const char*>(v.data() + n)};
}

} // namespace

synth_spec synth_preset(std::string_view name) {
    synth_spec s;
    if (name == "tiny") {
        s.dim = 64, s.n_layers = 2, s.n_heads = 4, s.n_kv_heads = 2, s.ffn_dim = 192,
        s.context_length = 512;
    } else if (name == "small") {
        // the defaults
    } else if (name == "110m") {
        s.dim = 768, s.n_layers = 12, s.n_heads = 12, s.n_kv_heads = 12, s.ffn_dim = 2048;
        s.vocab_size = 32000, s.context_length = 1024;
    } else {
        throw std::invalid_argument("unknown preset '" + std::string(name) +
                                    "' (presets: tiny, small, 110m)");
    }
    return s;
}

gguf_writer synth_gguf(const synth_spec& s) {
    if (s.dim == 0 || s.n_heads == 0 || s.dim % s.n_heads != 0 || s.n_kv_heads == 0 ||
        s.n_heads % s.n_kv_heads != 0 || (s.dim / s.n_heads) % 2 != 0 || s.n_layers == 0 ||
        s.ffn_dim == 0 || s.context_length == 0) {
        throw std::invalid_argument(
            "impossible model shape: dim must be a multiple of heads, heads of kv-heads, "
            "head dim even, every size > 0");
    }
    if (!kernels::row_size_ok(s.type, s.dim) || !kernels::row_size_ok(s.type, s.ffn_dim)) {
        throw std::invalid_argument(std::string(kernels::dtype_name(s.type)) +
                                    " needs dim and ffn to be multiples of " +
                                    std::to_string(kernels::block_elems(s.type)));
    }
    gguf_writer w;
    w.add("general.architecture", std::string("llama"));
    w.add("general.name", s.name);
    w.add("general.alignment", std::uint64_t(32));
    w.add("llama.context_length", std::uint64_t(s.context_length));
    w.add("llama.embedding_length", std::uint64_t(s.dim));
    w.add("llama.block_count", std::uint64_t(s.n_layers));
    w.add("llama.feed_forward_length", std::uint64_t(s.ffn_dim));
    w.add("llama.attention.head_count", std::uint64_t(s.n_heads));
    w.add("llama.attention.head_count_kv", std::uint64_t(s.n_kv_heads));
    w.add("llama.attention.layer_norm_rms_epsilon", 1e-5);
    w.add("llama.rope.freq_base", 10000.0);
    w.add("llama.rope.dimension_count", std::uint64_t(s.dim / s.n_heads));

    std::size_t vocab = s.vocab_size;
    if (!s.vocab_from.empty()) {
        const gguf_file src = gguf_file::open(s.vocab_from);
        const gguf_array* toks = src.get_array("tokenizer.ggml.tokens");
        if (toks == nullptr) {
            throw gguf_error("'" + s.vocab_from + "' has no tokenizer.ggml.tokens");
        }
        if (vocab != 0 && vocab != toks->size()) {
            throw std::invalid_argument("--vocab must equal the size of the copied vocabulary (" +
                                        std::to_string(toks->size()) + ")");
        }
        vocab = toks->size();
        for (const auto& [k, v] : src.metadata()) {
            if (k.rfind("tokenizer.", 0) == 0) {
                w.add(k, v);
            }
        }
    } else {
        vocab = std::max(vocab, byte_vocab_size);
        byte_vocab(w, vocab);
    }

    rng g(s.seed);
    const auto t = ggml_type_id(s.type);
    const std::size_t hd = s.dim / s.n_heads, kvd = s.n_kv_heads * hd;
    auto mat = [&](const std::string& name, std::size_t rows, std::size_t cols,
                   float scale = 1.0f) {
        w.add_tensor(name, {cols, rows}, t, random_matrix(g, rows, cols, s.type, scale));
    };
    // Embeddings with unit variance per element, so hidden states start at rms ~1.
    w.add_tensor("token_embd.weight", {s.dim, vocab}, t,
                 random_matrix(g, vocab, s.dim, s.type, std::sqrt(float(s.dim))));
    for (std::size_t l = 0; l < s.n_layers; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        w.add_tensor(p + "attn_norm.weight", {s.dim}, 0, ones(s.dim));
        mat(p + "attn_q.weight", s.dim, s.dim);
        mat(p + "attn_k.weight", kvd, s.dim);
        mat(p + "attn_v.weight", kvd, s.dim);
        mat(p + "attn_output.weight", s.dim, s.dim);
        w.add_tensor(p + "ffn_norm.weight", {s.dim}, 0, ones(s.dim));
        mat(p + "ffn_gate.weight", s.ffn_dim, s.dim);
        mat(p + "ffn_up.weight", s.ffn_dim, s.dim);
        mat(p + "ffn_down.weight", s.dim, s.ffn_dim);
    }
    w.add_tensor("output_norm.weight", {s.dim}, 0, ones(s.dim));
    // Output scaled up so that the logits are peaked enough to be interesting.
    std::vector<char> out = random_matrix(g, vocab, s.dim, s.type, 4.0f);
    if (s.vocab_from.empty()) {
        // Zero rows give logit 0, far below the best of the others: the
        // byte-level demo model writes words and printable characters.
        const std::size_t rb = kernels::row_bytes(s.type, s.dim);
        std::vector<float> zero(s.dim, 0.0f);
        for (std::size_t id = 0; id < vocab; ++id) {
            if (!demo_printable(id)) {
                kernels::quantize_row(s.type, zero.data(), s.dim, out.data() + id * rb);
            }
        }
    }
    w.add_tensor("output.weight", {s.dim, vocab}, t, std::move(out));
    return w;
}

std::shared_ptr<const model> builtin_model(std::uint64_t seed) {
    synth_spec s = synth_preset("small");
    s.seed = seed;
    s.name = "radixrt-builtin";
    return model::from_gguf(gguf_file::from_bytes(synth_gguf(s).bytes()), "builtin");
}

} // namespace radixrt::runtime
