#include "runtime/unicode.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <unordered_map>
#include <vector>

namespace radixrt::runtime::detail {
namespace {

constexpr char32_t max_cpt = 0x110000;
constexpr unsigned block_bits = 8; // 256 code points per block

// Two-stage lookup built once from the range table: block index per 256 code
// points, and the distinct blocks (most of the code space shares a few).
struct flag_tables {
    std::vector<std::uint16_t> block_of; // (max_cpt >> block_bits,)
    std::vector<std::uint8_t> blocks;    // (n_distinct_blocks, 256)

    flag_tables() {
        std::vector<std::uint8_t> all(max_cpt, 0);
        for (std::size_t i = 0; i < unicode_class_range_count; ++i) {
            const char32_t end =
                i + 1 < unicode_class_range_count ? unicode_class_ranges[i + 1].first : max_cpt;
            std::fill(all.begin() + unicode_class_ranges[i].first, all.begin() + end,
                      unicode_class_ranges[i].cls);
        }
        for (std::size_t i = 0; i < unicode_whitespace_count; ++i) {
            all[unicode_whitespace[i]] |= ws_flag;
        }
        std::unordered_map<std::string, std::uint16_t> seen;
        const std::size_t n = std::size_t(1) << block_bits;
        for (std::size_t b = 0; b < (max_cpt >> block_bits); ++b) {
            std::string blk(reinterpret_cast<const char*>(all.data() + b * n), n);
            auto [it, fresh] = seen.emplace(std::move(blk), std::uint16_t(seen.size()));
            if (fresh) {
                blocks.insert(blocks.end(), it->first.begin(), it->first.end());
            }
            block_of.push_back(it->second);
        }
    }
};

const flag_tables& tables() {
    static const flag_tables t;
    return t;
}

struct byte_map {
    std::array<char32_t, 256> to_cpt{};
    std::array<std::int16_t, 0x144> to_byte{}; // every mapped code point is below U+0144

    byte_map() {
        to_byte.fill(-1);
        auto printable = [](int b) {
            return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
        };
        char32_t next = 0x100;
        for (int b = 0; b < 256; ++b) {
            to_cpt[std::size_t(b)] = printable(b) ? char32_t(b) : next++;
            to_byte[to_cpt[std::size_t(b)]] = std::int16_t(b);
        }
    }
};

const byte_map& bytes() {
    static const byte_map m;
    return m;
}

} // namespace

std::uint8_t unicode_flags(char32_t cp) {
    if (cp >= max_cpt) {
        return std::uint8_t(ucat::other);
    }
    const flag_tables& t = tables();
    return t.blocks[(std::size_t(t.block_of[cp >> block_bits]) << block_bits) |
                    (cp & ((1u << block_bits) - 1))];
}

char32_t utf8_decode(std::string_view s, std::size_t& pos) {
    const auto c0 = static_cast<unsigned char>(s[pos]);
    if (c0 < 0x80) {
        ++pos;
        return c0;
    }
    std::size_t len = 0;
    char32_t cp = 0;
    if ((c0 & 0x40) == 0) {
        len = 0; // stray continuation byte
    } else if ((c0 & 0x20) == 0) {
        len = 2, cp = c0 & 0x1f;
    } else if ((c0 & 0x10) == 0) {
        len = 3, cp = c0 & 0x0f;
    } else if ((c0 & 0x08) == 0) {
        len = 4, cp = c0 & 0x07;
    }
    if (len == 0 || pos + len > s.size()) {
        ++pos;
        return 0xfffd;
    }
    for (std::size_t j = 1; j < len; ++j) {
        const auto c = static_cast<unsigned char>(s[pos + j]);
        if ((c & 0xc0) != 0x80) {
            ++pos;
            return 0xfffd;
        }
        cp = (cp << 6) | (c & 0x3f);
    }
    if (cp >= max_cpt) { // llama.cpp would throw on re-encoding this
        ++pos;
        return 0xfffd;
    }
    pos += len;
    return cp;
}

void utf8_append(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(char(cp));
    } else if (cp < 0x800) {
        out.push_back(char(0xc0 | (cp >> 6)));
        out.push_back(char(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        out.push_back(char(0xe0 | (cp >> 12)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(char(0x80 | (cp & 0x3f)));
    } else {
        out.push_back(char(0xf0 | (cp >> 18)));
        out.push_back(char(0x80 | ((cp >> 12) & 0x3f)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(char(0x80 | (cp & 0x3f)));
    }
}

char32_t byte_to_cpt(std::uint8_t b) {
    return bytes().to_cpt[b];
}

int cpt_to_byte(char32_t cp) {
    return cp < bytes().to_byte.size() ? bytes().to_byte[cp] : -1;
}

} // namespace radixrt::runtime::detail
