// libFuzzer: the GGUF reader, then the tokenizer and model loaders on
// whatever it accepts. Any input must give a value or a clean error.
#include <cstdint>
#include <exception>
#include <vector>

#include "runtime/gguf.hpp"
#include "runtime/model.hpp"
#include "runtime/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace rr = radixrt::runtime;
    std::vector<char> bytes(reinterpret_cast<const char*>(data),
                            reinterpret_cast<const char*>(data) + size);
    try {
        auto f = rr::gguf_file::from_bytes(std::move(bytes));
        try {
            auto tok = rr::tokenizer::from_gguf(f);
            (void)tok.encode("Hello world", true);
        } catch (const std::exception&) {
        }
        try {
            (void)rr::model::from_gguf(std::move(f), "fuzz");
        } catch (const std::exception&) {
        }
    } catch (const std::exception&) {
    }
    return 0;
}
