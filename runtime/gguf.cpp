#include "runtime/gguf.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace radixrt::runtime {
namespace {

constexpr ggml_type_traits type_table[] = {
    {0, "F32", 1, 4},       {1, "F16", 1, 2},       {2, "Q4_0", 32, 18},    {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},    {7, "Q5_1", 32, 24},    {8, "Q8_0", 32, 34},    {9, "Q8_1", 32, 36},
    {10, "Q2_K", 256, 84},  {11, "Q3_K", 256, 110}, {12, "Q4_K", 256, 144}, {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210}, {15, "Q8_K", 256, 292}, {24, "I8", 1, 1},       {25, "I16", 1, 2},
    {26, "I32", 1, 4},      {27, "I64", 1, 8},      {28, "F64", 1, 8},      {30, "BF16", 1, 2},
};

constexpr std::uint32_t gguf_magic = 0x46554747; // "GGUF" little-endian
constexpr std::uint64_t max_dims = 4;

// Bounds-checked little-endian cursor; every read names what it reads.
class cursor {
  public:
    cursor(const unsigned char* p, std::uint64_t size) : p_(p), size_(size) {}

    std::uint64_t pos() const { return pos_; }
    std::uint64_t remaining() const { return size_ - pos_; }

    void need(std::uint64_t n, const char* what) const {
        if (n > remaining()) {
            throw gguf_error("truncated file: " + std::string(what) + " at offset " +
                             std::to_string(pos_) + " needs " + std::to_string(n) + " bytes, " +
                             std::to_string(remaining()) + " left");
        }
    }
    template <typename T> T read(const char* what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, p_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }
    std::string read_string(const char* what) {
        const auto n = read<std::uint64_t>(what);
        need(n, what);
        std::string s(reinterpret_cast<const char*>(p_ + pos_), n);
        pos_ += n;
        return s;
    }

  private:
    const unsigned char* p_;
    std::uint64_t size_;
    std::uint64_t pos_ = 0;
};

std::uint64_t scalar_size(gguf_type t) {
    switch (t) {
    case gguf_type::u8:
    case gguf_type::i8:
    case gguf_type::boolean:
        return 1;
    case gguf_type::u16:
    case gguf_type::i16:
        return 2;
    case gguf_type::u32:
    case gguf_type::i32:
    case gguf_type::f32:
        return 4;
    case gguf_type::u64:
    case gguf_type::i64:
    case gguf_type::f64:
    case gguf_type::string: // at least its length
        return 8;
    case gguf_type::array:
        return 12;
    }
    return 0;
}

gguf_value read_scalar(cursor& c, gguf_type t, const std::string& key) {
    const char* what = key.c_str();
    switch (t) {
    case gguf_type::u8:
        return std::uint64_t(c.read<std::uint8_t>(what));
    case gguf_type::i8:
        return std::int64_t(c.read<std::int8_t>(what));
    case gguf_type::u16:
        return std::uint64_t(c.read<std::uint16_t>(what));
    case gguf_type::i16:
        return std::int64_t(c.read<std::int16_t>(what));
    case gguf_type::u32:
        return std::uint64_t(c.read<std::uint32_t>(what));
    case gguf_type::i32:
        return std::int64_t(c.read<std::int32_t>(what));
    case gguf_type::f32:
        return double(c.read<float>(what));
    case gguf_type::u64:
        return c.read<std::uint64_t>(what);
    case gguf_type::i64:
        return c.read<std::int64_t>(what);
    case gguf_type::f64:
        return c.read<double>(what);
    case gguf_type::boolean: {
        const auto b = c.read<std::uint8_t>(what);
        if (b > 1) {
            throw gguf_error("metadata '" + key + "': bool value " + std::to_string(b));
        }
        return b == 1;
    }
    case gguf_type::string:
        return c.read_string(what);
    case gguf_type::array:
        break;
    }
    throw gguf_error("metadata '" + key + "': unexpected value type");
}

gguf_type read_type(cursor& c, const std::string& key) {
    const auto t = c.read<std::uint32_t>(key.c_str());
    if (t > std::uint32_t(gguf_type::f64)) {
        throw gguf_error("metadata '" + key + "': unknown value type " + std::to_string(t));
    }
    return gguf_type(t);
}

gguf_value read_value(cursor& c, gguf_type t, const std::string& key) {
    if (t != gguf_type::array) {
        return read_scalar(c, t, key);
    }
    gguf_array a;
    a.elem = read_type(c, key);
    if (a.elem == gguf_type::array) {
        throw gguf_error("metadata '" + key + "': nested arrays are not supported");
    }
    const auto n = c.read<std::uint64_t>(key.c_str());
    if (n > c.remaining() / scalar_size(a.elem)) {
        throw gguf_error("metadata '" + key + "': array of " + std::to_string(n) +
                         " elements exceeds the file");
    }
    for (std::uint64_t i = 0; i < n; ++i) {
        gguf_value v = read_scalar(c, a.elem, key);
        if (auto* s = std::get_if<std::string>(&v)) {
            a.strings.push_back(std::move(*s));
        } else if (auto* d = std::get_if<double>(&v)) {
            a.floats.push_back(*d);
        } else if (auto* u = std::get_if<std::uint64_t>(&v)) {
            a.ints.push_back(std::int64_t(*u));
        } else if (auto* b = std::get_if<bool>(&v)) {
            a.ints.push_back(*b ? 1 : 0);
        } else {
            a.ints.push_back(std::get<std::int64_t>(v));
        }
    }
    return a;
}

struct mapping {
    void* addr = nullptr;
    std::size_t len = 0;
    ~mapping() {
        if (addr != nullptr) {
            munmap(addr, len);
        }
    }
};

} // namespace

const ggml_type_traits* find_ggml_type(std::uint32_t id) {
    for (const auto& t : type_table) {
        if (t.id == id) {
            return &t;
        }
    }
    return nullptr;
}

std::uint32_t ggml_type_id(kernels::dtype t) {
    return kernels::ggml_type_of(t);
}

std::optional<kernels::dtype> to_dtype(std::uint32_t ggml_type) {
    kernels::dtype t;
    if (!kernels::dtype_from_ggml(ggml_type, t)) {
        return std::nullopt;
    }
    return t;
}

std::uint64_t gguf_tensor::elements() const {
    std::uint64_t n = 1;
    for (auto d : dims) {
        n *= d;
    }
    return n;
}

gguf_file gguf_file::open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw gguf_error("cannot open '" + path + "': " + std::strerror(errno));
    }
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw gguf_error("'" + path + "' is not a regular file");
    }
    auto m = std::make_shared<mapping>();
    m->len = std::size_t(st.st_size);
    if (m->len > 0) {
        m->addr = mmap(nullptr, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m->addr == MAP_FAILED) {
            m->addr = nullptr;
            ::close(fd);
            throw gguf_error("cannot map '" + path + "': " + std::strerror(errno));
        }
    }
    ::close(fd);
    gguf_file f;
    f.base_ = static_cast<const unsigned char*>(m->addr);
    f.size_ = m->len;
    f.mapped_ = true;
    f.storage_ = m;
    try {
        f.parse();
    } catch (const gguf_error& e) {
        throw gguf_error("'" + path + "': " + e.what());
    }
    return f;
}

void gguf_file::release(const void* p, std::size_t n) const {
    const auto* b = static_cast<const unsigned char*>(p);
    if (!mapped_ || b < base_ || b + n > base_ + size_) {
        return;
    }
    // Whole pages inside the range only: a neighbour's bytes stay resident.
    const auto page = std::uintptr_t(sysconf(_SC_PAGESIZE));
    const std::uintptr_t lo = (std::uintptr_t(b) + page - 1) / page * page;
    const std::uintptr_t hi = (std::uintptr_t(b) + n) / page * page;
    if (hi > lo) {
        madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
    }
}

gguf_file gguf_file::from_bytes(std::vector<char> bytes) {
    auto buf = std::make_shared<std::vector<char>>(std::move(bytes));
    gguf_file f;
    f.base_ = reinterpret_cast<const unsigned char*>(buf->data());
    f.size_ = buf->size();
    f.storage_ = buf;
    f.parse();
    return f;
}

void gguf_file::parse() {
    cursor c(base_, size_);
    if (c.read<std::uint32_t>("magic") != gguf_magic) {
        throw gguf_error("not a GGUF file (bad magic)");
    }
    version_ = c.read<std::uint32_t>("version");
    if (version_ != 2 && version_ != 3) {
        throw gguf_error("unsupported GGUF version " + std::to_string(version_) +
                         " (supported: 2, 3)");
    }
    const auto n_tensors = c.read<std::uint64_t>("tensor count");
    const auto n_kv = c.read<std::uint64_t>("metadata count");
    // Each entry takes at least its fixed-size fields: reject impossible counts early.
    if (n_kv > c.remaining() / 12 || n_tensors > c.remaining() / 24) {
        throw gguf_error("header counts (" + std::to_string(n_kv) + " metadata, " +
                         std::to_string(n_tensors) + " tensors) exceed the file size");
    }
    for (std::uint64_t i = 0; i < n_kv; ++i) {
        std::string key = c.read_string("metadata key");
        const gguf_type t = read_type(c, key);
        gguf_value v = read_value(c, t, key);
        types_[key] = t;
        if (!kv_.emplace(key, std::move(v)).second) {
            throw gguf_error("duplicate metadata key '" + key + "'");
        }
    }
    if (auto a = find("general.alignment")) {
        const auto* u = std::get_if<std::uint64_t>(a);
        if (u == nullptr || *u == 0 || (*u & (*u - 1)) != 0 || *u > 65536) {
            throw gguf_error("general.alignment must be a power of two");
        }
        alignment_ = std::uint32_t(*u);
    }
    for (std::uint64_t i = 0; i < n_tensors; ++i) {
        gguf_tensor t;
        t.name = c.read_string("tensor name");
        const auto nd = c.read<std::uint32_t>("tensor dimension count");
        if (nd == 0 || nd > max_dims) {
            throw gguf_error("tensor '" + t.name + "': " + std::to_string(nd) +
                             " dimensions (1..4 allowed)");
        }
        std::uint64_t elems = 1;
        for (std::uint32_t d = 0; d < nd; ++d) {
            const auto n = c.read<std::uint64_t>("tensor dimension");
            if (n == 0 || n > (std::uint64_t(1) << 40) || elems > (std::uint64_t(1) << 62) / n) {
                throw gguf_error("tensor '" + t.name + "': bad dimension " + std::to_string(n));
            }
            elems *= n;
            t.dims.push_back(n);
        }
        t.ggml_type = c.read<std::uint32_t>("tensor type");
        const auto* traits = find_ggml_type(t.ggml_type);
        if (traits == nullptr) {
            throw gguf_error("tensor '" + t.name + "': unknown ggml type " +
                             std::to_string(t.ggml_type));
        }
        if (t.dims[0] % traits->block != 0) {
            throw gguf_error("tensor '" + t.name + "': row length " + std::to_string(t.dims[0]) +
                             " is not a multiple of the " + traits->name + " block size");
        }
        t.bytes = elems / traits->block * traits->block_bytes;
        t.offset = c.read<std::uint64_t>("tensor offset");
        if (t.offset % alignment_ != 0) {
            throw gguf_error("tensor '" + t.name + "': offset " + std::to_string(t.offset) +
                             " is not aligned");
        }
        if (!tensor_index_.emplace(t.name, tensors_.size()).second) {
            throw gguf_error("duplicate tensor '" + t.name + "'");
        }
        tensors_.push_back(std::move(t));
    }
    const std::uint64_t data_start = (c.pos() + alignment_ - 1) / alignment_ * alignment_;
    if (data_start > size_ && !tensors_.empty()) {
        throw gguf_error("truncated file: no tensor data section");
    }
    const std::uint64_t data_size = size_ > data_start ? size_ - data_start : 0;
    for (auto& t : tensors_) {
        if (t.offset > data_size || t.bytes > data_size - t.offset) {
            throw gguf_error("tensor '" + t.name + "': data [" + std::to_string(t.offset) + ", +" +
                             std::to_string(t.bytes) +
                             ") lies beyond the end of the file (data section is " +
                             std::to_string(data_size) + " bytes)");
        }
        t.data = base_ + data_start + t.offset;
    }
}

const gguf_value* gguf_file::find(std::string_view key) const {
    auto it = kv_.find(std::string(key));
    return it == kv_.end() ? nullptr : &it->second;
}

const gguf_tensor* gguf_file::tensor(std::string_view name) const {
    auto it = tensor_index_.find(std::string(name));
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::optional<std::string> gguf_file::get_string(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (const auto* s = std::get_if<std::string>(v)) {
        return *s;
    }
    throw gguf_error("metadata '" + std::string(key) + "' should be a string");
}

std::optional<std::uint64_t> gguf_file::get_uint(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (const auto* u = std::get_if<std::uint64_t>(v)) {
        return *u;
    }
    if (const auto* i = std::get_if<std::int64_t>(v); i != nullptr && *i >= 0) {
        return std::uint64_t(*i);
    }
    throw gguf_error("metadata '" + std::string(key) + "' should be a non-negative integer");
}

std::optional<double> gguf_file::get_float(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (const auto* d = std::get_if<double>(v)) {
        return *d;
    }
    if (auto u = std::get_if<std::uint64_t>(v)) {
        return double(*u);
    }
    throw gguf_error("metadata '" + std::string(key) + "' should be a number");
}

const gguf_array* gguf_file::get_array(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr) {
        return nullptr;
    }
    if (const auto* a = std::get_if<gguf_array>(v)) {
        return a;
    }
    throw gguf_error("metadata '" + std::string(key) + "' should be an array");
}

// ---- writer ----

namespace {

// resize + memcpy rather than insert: GCC 12 warns falsely on vector<char>::insert.
void put_bytes(std::vector<char>& out, const void* p, std::size_t n) {
    const std::size_t at = out.size();
    out.resize(at + n);
    if (n != 0) {
        std::memcpy(out.data() + at, p, n);
    }
}

template <typename T> void put(std::vector<char>& out, T v) {
    put_bytes(out, &v, sizeof v);
}

void put_string(std::vector<char>& out, const std::string& s) {
    put<std::uint64_t>(out, s.size());
    put_bytes(out, s.data(), s.size());
}

// A scalar written as exactly `type` (a value copied from another file keeps its type).
bool put_as(std::vector<char>& out, const gguf_value& v, gguf_type type) {
    const auto* u = std::get_if<std::uint64_t>(&v);
    const auto* i = std::get_if<std::int64_t>(&v);
    const auto* d = std::get_if<double>(&v);
    const auto whole = [&]() -> std::int64_t { return u ? std::int64_t(*u) : i ? *i : 0; };
    if ((u == nullptr && i == nullptr && d == nullptr)) {
        return false;
    }
    put(out, type);
    switch (type) {
    case gguf_type::u8:
    case gguf_type::i8:
        put<std::uint8_t>(out, std::uint8_t(whole()));
        return true;
    case gguf_type::u16:
    case gguf_type::i16:
        put<std::uint16_t>(out, std::uint16_t(whole()));
        return true;
    case gguf_type::u32:
    case gguf_type::i32:
        put<std::uint32_t>(out, std::uint32_t(whole()));
        return true;
    case gguf_type::u64:
    case gguf_type::i64:
        put<std::uint64_t>(out, std::uint64_t(whole()));
        return true;
    case gguf_type::f32:
        put<float>(out, d ? float(*d) : float(whole()));
        return true;
    case gguf_type::f64:
        put<double>(out, d ? *d : double(whole()));
        return true;
    default:
        out.resize(out.size() - sizeof(type));
        return false;
    }
}

void put_value(std::vector<char>& out, const gguf_value& v) {
    if (const auto* u = std::get_if<std::uint64_t>(&v)) {
        // Small unsigned values are written as u32, as llama.cpp's writer does for counts.
        if (*u <= 0xffffffffu) {
            put(out, gguf_type::u32);
            put<std::uint32_t>(out, std::uint32_t(*u));
        } else {
            put(out, gguf_type::u64);
            put<std::uint64_t>(out, *u);
        }
    } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
        put(out, gguf_type::i32);
        put<std::int32_t>(out, std::int32_t(*i));
    } else if (const auto* d = std::get_if<double>(&v)) {
        put(out, gguf_type::f32);
        put<float>(out, float(*d));
    } else if (const auto* b = std::get_if<bool>(&v)) {
        put(out, gguf_type::boolean);
        put<std::uint8_t>(out, *b ? 1 : 0);
    } else if (const auto* s = std::get_if<std::string>(&v)) {
        put(out, gguf_type::string);
        put_string(out, *s);
    } else {
        const auto& a = std::get<gguf_array>(v);
        put(out, gguf_type::array);
        put(out, a.elem);
        put<std::uint64_t>(out, a.size());
        for (const auto& s : a.strings) {
            put_string(out, s);
        }
        for (double f : a.floats) {
            if (a.elem == gguf_type::f64) {
                put<double>(out, f);
            } else {
                put<float>(out, float(f));
            }
        }
        for (auto n : a.ints) {
            switch (scalar_size(a.elem)) {
            case 1:
                put<std::uint8_t>(out, std::uint8_t(n));
                break;
            case 2:
                put<std::uint16_t>(out, std::uint16_t(n));
                break;
            case 4:
                put<std::uint32_t>(out, std::uint32_t(n));
                break;
            default:
                put<std::uint64_t>(out, std::uint64_t(n));
                break;
            }
        }
    }
}

} // namespace

void gguf_writer::add(std::string key, gguf_value value) {
    kv_.emplace_back(std::move(key), std::move(value));
    types_.push_back(std::nullopt);
}

void gguf_writer::add(std::string key, gguf_value value, gguf_type scalar_type) {
    kv_.emplace_back(std::move(key), std::move(value));
    types_.push_back(scalar_type);
}

void gguf_writer::add_tensor(std::string name, std::vector<std::uint64_t> dims,
                             std::uint32_t ggml_type, std::vector<char> data) {
    tensors_.push_back({std::move(name), std::move(dims), ggml_type, std::move(data)});
}

std::vector<char> gguf_writer::bytes() const {
    constexpr std::uint64_t align = 32;
    std::vector<char> out;
    put(out, gguf_magic);
    put<std::uint32_t>(out, 3);
    put<std::uint64_t>(out, tensors_.size());
    put<std::uint64_t>(out, kv_.size());
    for (std::size_t i = 0; i < kv_.size(); ++i) {
        const auto& [k, v] = kv_[i];
        put_string(out, k);
        if (!types_[i] || !put_as(out, v, *types_[i])) {
            put_value(out, v);
        }
    }
    std::uint64_t offset = 0;
    for (const auto& t : tensors_) {
        put_string(out, t.name);
        put<std::uint32_t>(out, std::uint32_t(t.dims.size()));
        for (auto d : t.dims) {
            put<std::uint64_t>(out, d);
        }
        put<std::uint32_t>(out, t.type);
        put<std::uint64_t>(out, offset);
        offset += (t.data.size() + align - 1) / align * align;
    }
    out.resize((out.size() + align - 1) / align * align, 0);
    for (const auto& t : tensors_) {
        put_bytes(out, t.data.data(), t.data.size());
        out.resize((out.size() + align - 1) / align * align, 0);
    }
    return out;
}

void gguf_writer::write(const std::string& path) const {
    const auto data = bytes();
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(data.data(), std::streamsize(data.size()));
    if (!f) {
        throw gguf_error("cannot write '" + path + "'");
    }
}

} // namespace radixrt::runtime
