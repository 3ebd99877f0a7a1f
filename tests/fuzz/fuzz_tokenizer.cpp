// libFuzzer: the SentencePiece tokenizer on llama.cpp's LLaMA vocabulary and
// the byte-level BPE tokenizer on Qwen2's (read in place from
// ../shared/testdata), encode and decode. BPE round-trips every strictly
// valid UTF-8 text exactly. For valid
// UTF-8 that does not start with a space, decoding the encoding gives the
// text back after the one leading space SentencePiece adds. (Text holding
// SentencePiece's own space marker U+2581 is exempt: the marker and a space
// encode alike, in llama.cpp as here.)
#include <cstdint>
#include <cstdlib>
#include <string>

#include "runtime/gguf.hpp"
#include "runtime/tokenizer.hpp"

namespace {

bool valid_utf8(const std::string& s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t n = c < 0x80         ? 1
                              : (c >> 5) == 6  ? 2
                              : (c >> 4) == 14 ? 3
                              : (c >> 3) == 30 ? 4
                                               : 0;
        if (n == 0 || i + n > s.size()) {
            return false;
        }
        for (std::size_t k = 1; k < n; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) {
                return false;
            }
        }
        i += n;
    }
    return true;
}

// No overlong forms, surrogates or code points above U+10FFFF (the BPE
// pre-tokenizer turns those into U+FFFD, as llama.cpp does).
bool strict_utf8(const std::string& s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t n = c < 0x80   ? 1
                              : c < 0xc2 ? 0
                              : c < 0xe0 ? 2
                              : c < 0xf0 ? 3
                              : c < 0xf5 ? 4
                                         : 0;
        if (n == 0 || i + n > s.size()) {
            return false;
        }
        std::uint32_t cp = n == 1 ? c : c & (0x7f >> n);
        for (std::size_t k = 1; k < n; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (b & 0x3f);
        }
        if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
            return false;
        }
        i += n;
    }
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace rr = radixrt::runtime;
    static const auto tok = rr::tokenizer::from_gguf(rr::gguf_file::open(
        std::string(RADIXRT_TESTDATA_DIR) + "/vocab/ggml-vocab-llama-spm.gguf"));
    const std::string text(reinterpret_cast<const char*>(data), size);
    const auto ids = tok.encode(text, true);
    rr::stream_decoder d(tok);
    std::string streamed;
    for (auto id : ids) {
        streamed += d.push(id);
    }
    streamed += d.flush();
    if (valid_utf8(text) && (text.empty() || text[0] != ' ') &&
        text.find('\0') == std::string::npos && text.find("\xe2\x96\x81") == std::string::npos &&
        tok.decode(ids) != (text.empty() ? text : " " + text)) {
        std::abort(); // a round trip that loses text
    }
    static const auto bpe = rr::tokenizer::from_gguf(
        rr::gguf_file::open(std::string(RADIXRT_TESTDATA_DIR) + "/vocab/ggml-vocab-qwen2.gguf"));
    const auto bpe_ids = bpe.encode(text, false);
    for (auto id : bpe_ids) {
        if (!bpe.valid(id)) {
            std::abort();
        }
    }
    if (strict_utf8(text) && bpe.decode(bpe_ids) != text) {
        std::abort(); // byte-level BPE must give every valid text back
    }
    return 0;
}
