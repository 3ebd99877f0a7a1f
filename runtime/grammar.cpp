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

// A rule is left-recursive when it can reach itself without consuming a
// character: through the first element of an alternative, or past elements
// that can all match the empty string.
void check_left_recursion(const std::vector<std::vector<std::vector<grammar_elem>>>& rules_,
                          const std::vector<std::string>& names) {
    const std::size_t n = rules_.size();
    std::vector<bool> nullable(n, false);
    for (bool changed = true; changed;) {
        changed = false;
        for (std::size_t id = 0; id < n; ++id) {
            if (nullable[id]) {
                continue;
            }
            for (const auto& alt : rules_[id]) {
                if (std::all_of(alt.begin(), alt.end(), [&](const grammar_elem& e) {
                        return e.kind == elem_kind::rule && nullable[e.value];
                    })) {
                    nullable[id] = true;
                    changed = true;
                    break;
                }
            }
        }
    }
    std::vector<std::vector<std::uint32_t>> left(n);
    for (std::size_t id = 0; id < n; ++id) {
        for (const auto& alt : rules_[id]) {
            for (const auto& e : alt) {
                if (e.kind != elem_kind::rule) {
                    break;
                }
                left[id].push_back(e.value);
                if (!nullable[e.value]) {
                    break;
                }
            }
        }
    }
    // Iterative DFS with colours: 1 on the path, 2 done.
    std::vector<std::uint8_t> colour(n, 0);
    for (std::size_t start = 0; start < n; ++start) {
        if (colour[start] != 0) {
            continue;
        }
        std::vector<std::pair<std::uint32_t, std::size_t>> path{{std::uint32_t(start), 0}};
        colour[start] = 1;
        while (!path.empty()) {
            auto& [id, next] = path.back();
            if (next == left[id].size()) {
                colour[id] = 2;
                path.pop_back();
                continue;
            }
            const auto to = left[id][next++];
            if (colour[to] == 1) {
                const std::uint32_t at = to;
                throw grammar_error("rule '" + names[at] +
                                        "' is left-recursive (directly or through rules that "
                                        "can match the empty string); rewrite it right-recursively",
                                    0, 0);
            }
            if (colour[to] == 0) {
                colour[to] = 1;
                path.emplace_back(to, 0);
            }
        }
    }
}

} // namespace detail

} // namespace radixrt::runtime
