// The small pieces of runtime/grammar.hpp that are not the parser.
#include "runtime/grammar.hpp"

#include <algorithm>

namespace radixrt::runtime {

grammar_error::grammar_error(const std::string& what, std::size_t line, std::size_t column)
    : std::runtime_error(line == 0 ? what
                                   : std::to_string(line) + ":" + std::to_string(column) + ": " +
                                         what),
      line_(line), column_(column) {}

namespace detail {

void char_set::normalize(bool negated) {
    std::sort(ranges.begin(), ranges.end());
    std::vector<std::pair<char32_t, char32_t>> merged;
    for (const auto& r : ranges) {
        if (!merged.empty() && r.first <= merged.back().second + 1) {
            merged.back().second = std::max(merged.back().second, r.second);
        } else {
            merged.push_back(r);
        }
    }
    if (negated) {
        std::vector<std::pair<char32_t, char32_t>> comp;
        char32_t next = 0;
        for (const auto& r : merged) {
            if (r.first > next) {
                comp.emplace_back(next, r.first - 1);
            }
            next = r.second + 1;
        }
        if (next <= 0x10FFFF) {
            comp.emplace_back(next, char32_t(0x10FFFF));
        }
        merged = std::move(comp);
    }
    // Surrogates never decode from valid UTF-8: leaving them out lets a
    // partial sequence (ED A0..) die at once instead of one byte later.
    ranges.clear();
    for (const auto& r : merged) {
        if (r.second < 0xD800 || r.first > 0xDFFF) {
            ranges.push_back(r);
            continue;
        }
        if (r.first < 0xD800) {
            ranges.emplace_back(r.first, char32_t(0xD7FF));
        }
        if (r.second > 0xDFFF) {
            ranges.emplace_back(char32_t(0xE000), r.second);
        }
    }
    ascii = {0, 0};
    for (char32_t c = 0; c < 128; ++c) {
        for (const auto& r : ranges) {
            if (c >= r.first && c <= r.second) {
                ascii[c >> 6] |= std::uint64_t(1) << (c & 63);
            }
        }
    }
}

bool char_set::contains(char32_t c) const {
    if (c < 128) {
        return (ascii[c >> 6] >> (c & 63)) & 1;
    }
    for (const auto& r : ranges) {
        if (c < r.first) {
            return false;
        }
        if (c <= r.second) {
            return true;
        }
    }
    return false;
}

bool char_set::intersects(char32_t lo, char32_t hi) const {
    for (const auto& r : ranges) {
        if (r.first <= hi && lo <= r.second) {
            return true;
        }
    }
    return false;
}

bool char_set::covers(char32_t lo, char32_t hi) const {
    for (const auto& r : ranges) {
        if (r.first <= lo && hi <= r.second) {
            return true;
        }
    }
    return false;
}

} // namespace detail

} // namespace radixrt::runtime
