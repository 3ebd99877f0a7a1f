#include "runtime/stop_checker.hpp"

#include <algorithm>

namespace radixrt::runtime {

stop_checker::stop_checker(const tokenizer& tok, std::vector<std::string> stops,
                           std::vector<token_id> shown)
    : decoder_(tok, std::move(shown)) {
    for (auto& s : stops) {
        if (!s.empty()) {
            longest_ = std::max(longest_, s.size());
            stops_.push_back(std::move(s));
        }
    }
}

stop_checker::step stop_checker::push(token_id id) {
    held_ += decoder_.push(id);
    step out;
    if (stops_.empty()) {
        out.text = std::move(held_);
        held_.clear();
        return out;
    }
    // The earliest stop string ends the text.
    std::size_t first = std::string::npos;
    for (const auto& s : stops_) {
        first = std::min(first, held_.find(s));
    }
    if (first != std::string::npos) {
        out.text = held_.substr(0, first);
        out.stopped = true;
        held_.clear();
        return out;
    }
    // Hold back the longest suffix that is a prefix of some stop string.
    std::size_t keep = 0;
    for (const auto& s : stops_) {
        for (std::size_t n = std::min(s.size() - 1, held_.size()); n > keep; --n) {
            if (held_.compare(held_.size() - n, n, s, 0, n) == 0) {
                keep = n;
                break;
            }
        }
    }
    // Never split a UTF-8 character: move the cut back to a character start.
    std::size_t cut = held_.size() - keep;
    while (cut > 0 && cut < held_.size() &&
           (static_cast<unsigned char>(held_[cut]) & 0xc0) == 0x80) {
        --cut;
    }
    out.text = held_.substr(0, cut);
    held_.erase(0, cut);
    return out;
}

std::string stop_checker::flush() {
    std::string out = std::move(held_) + decoder_.flush();
    held_.clear();
    return out;
}

} // namespace radixrt::runtime
