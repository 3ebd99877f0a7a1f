#pragma once
// GGUF v2/v3 (the llama.cpp model format): reader over an mmap'd file or an
// owned buffer, and a writer. Every count, offset, size and type is checked
// against the file size before any data is touched; problems throw
// gguf_error with a message naming what is wrong and where.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "kernels/dtype.hpp"

namespace radixrt::runtime {

struct gguf_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class gguf_type : std::uint32_t {
    u8 = 0,
    i8 = 1,
    u16 = 2,
    i16 = 3,
    u32 = 4,
    i32 = 5,
    f32 = 6,
    boolean = 7,
    string = 8,
    array = 9,
    u64 = 10,
    i64 = 11,
    f64 = 12,
};

/// Arrays keep their element type; numbers widen to int64 / double.
struct gguf_array {
    gguf_type elem = gguf_type::u8;
    std::vector<std::int64_t> ints; // integer and bool elements
    std::vector<double> floats;
    std::vector<std::string> strings;
    std::size_t size() const { return ints.size() + floats.size() + strings.size(); }
};

using gguf_value = std::variant<std::uint64_t, std::int64_t, double, bool, std::string, gguf_array>;

/// ggml tensor element types that a GGUF file may name (sizes for validation).
struct ggml_type_traits {
    std::uint32_t id;
    const char* name;
    std::uint32_t block;       // elements per block
    std::uint32_t block_bytes; // bytes per block
};
const ggml_type_traits* find_ggml_type(std::uint32_t id);
/// GGUF type id of a kernel dtype, and back (nullopt: not computable here).
std::uint32_t ggml_type_id(kernels::dtype t);
std::optional<kernels::dtype> to_dtype(std::uint32_t ggml_type);

struct gguf_tensor {
    std::string name;
    std::vector<std::uint64_t> dims; // dims[0] is the innermost (row length)
    std::uint32_t ggml_type = 0;
    std::uint64_t offset = 0; // within the data section
    std::uint64_t bytes = 0;
    const void* data = nullptr;

    std::uint64_t elements() const;
};

class gguf_file {
  public:
    /// Maps the file read-only and parses it.
    static gguf_file open(const std::string& path);
    /// Parses an in-memory image (the built-in model takes this path).
    static gguf_file from_bytes(std::vector<char> bytes);

    std::uint32_t version() const { return version_; }
    std::uint64_t file_size() const { return size_; }
    std::uint32_t alignment() const { return alignment_; }
    const std::map<std::string, gguf_value>& metadata() const { return kv_; }
    const std::vector<gguf_tensor>& tensors() const { return tensors_; }

    const gguf_value* find(std::string_view key) const;
    /// The type a key was stored with (gguf_type::array for arrays).
    gguf_type type_of(const std::string& key) const {
        auto it = types_.find(key);
        return it == types_.end() ? gguf_type::string : it->second;
    }
    const gguf_tensor* tensor(std::string_view name) const;
    /// Typed look-ups; throw gguf_error naming the key on a type mismatch.
    std::optional<std::string> get_string(std::string_view key) const;
    std::optional<std::uint64_t> get_uint(std::string_view key) const;
    std::optional<double> get_float(std::string_view key) const;
    const gguf_array* get_array(std::string_view key) const;

    /// A hint that bytes [p, p + n) of a mapped file will not be read again
    /// soon (weights repacked at load): their pages leave the process's
    /// resident set and fault back in from the file if read. In-memory
    /// images are left as they are.
    void release(const void* p, std::size_t n) const;

  private:
    void parse();

    std::shared_ptr<const void> storage_; // mapping or buffer; keeps data alive
    const unsigned char* base_ = nullptr;
    std::uint64_t size_ = 0;
    bool mapped_ = false;
    std::uint32_t version_ = 0;
    std::uint32_t alignment_ = 32;
    std::map<std::string, gguf_value> kv_;
    std::map<std::string, gguf_type> types_;
    std::vector<gguf_tensor> tensors_;
    std::unordered_map<std::string, std::size_t> tensor_index_;
};

/// Builds a GGUF v3 image: metadata in insertion order, then tensor infos,
/// then the data, each tensor aligned to 32 bytes.
class gguf_writer {
  public:
    void add(std::string key, gguf_value value);
    /// A number written as exactly scalar_type (to copy a key from another file as it was).
    void add(std::string key, gguf_value value, gguf_type scalar_type);
    void add_tensor(std::string name, std::vector<std::uint64_t> dims, std::uint32_t ggml_type,
                    std::vector<char> data);
    std::vector<char> bytes() const;
    void write(const std::string& path) const;

  private:
    struct tensor_entry {
        std::string name;
        std::vector<std::uint64_t> dims;
        std::uint32_t type;
        std::vector<char> data;
    };
    std::vector<std::pair<std::string, gguf_value>> kv_;
    std::vector<std::optional<gguf_type>> types_; // per key: forced scalar type
    std::vector<tensor_entry> tensors_;
};

} // namespace radixrt::runtime
