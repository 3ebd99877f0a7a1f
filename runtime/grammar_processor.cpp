#include "runtime/grammar_processor.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace radixrt::runtime {

grammar_processor::grammar_processor(std::shared_ptr<const grammar> g,
                                     std::shared_ptr<const token_trie> vocab,
                                     std::vector<shown_token> shown,
                                     std::vector<grammar_trigger> triggers)
    : matcher_(std::move(g)), vocab_(std::move(vocab)), shown_(std::move(shown)),
      triggers_(std::move(triggers)), state_(triggers_.empty() ? mode::active : mode::waiting) {
    std::sort(shown_.begin(), shown_.end(),
              [](const shown_token& a, const shown_token& b) { return a.id < b.id; });
}

const std::string& grammar_processor::bytes_of(token_id id) const {
    const auto it = std::lower_bound(shown_.begin(), shown_.end(), id,
                                     [](const shown_token& t, token_id v) { return t.id < v; });
    return it != shown_.end() && it->id == id ? it->text : vocab_->bytes(id);
}

// `generated` only grows between calls (a preemption re-runs the prompt,
// not the sampling), so the tokens not seen yet are its tail. A shorter
// span than before means a different sequence: start again from scratch.
void grammar_processor::catch_up(std::span<const std::int32_t> generated) {
    if (generated.size() < seen_) {
        matcher_ = grammar_matcher(matcher_.rules_ptr());
        seen_ = 0;
        text_.clear();
        state_ = triggers_.empty() ? mode::active : mode::waiting;
    }
    for (; seen_ < generated.size(); ++seen_) {
        const token_id id = generated[seen_];
        if (id < 0 || std::size_t(id) >= vocab_->vocab_size()) {
            throw std::invalid_argument("grammar: token id " + std::to_string(id) +
                                        " is outside the vocabulary");
        }
        if (state_ == mode::active) {
            feed(id);
        } else if (state_ == mode::waiting) {
            watch(id);
        }
    }
}

void grammar_processor::feed(token_id id) {
    if (vocab_->is_end(id) && matcher_.is_complete()) {
        return;
    }
    const std::string& bytes = bytes_of(id);
    if (bytes.empty() || !matcher_.accept_bytes(bytes)) {
        throw std::invalid_argument("grammar: generated token " + std::to_string(id) +
                                    " does not match the grammar");
    }
}

// Lazy, before the trigger: the earliest trigger in the text so far starts
// the grammar, fed with everything from the trigger's first byte on.
void grammar_processor::watch(token_id id) {
    if (vocab_->is_end(id)) {
        return;
    }
    const std::size_t before = text_.size();
    text_ += bytes_of(id);
    std::size_t at = std::string::npos;
    for (const auto& t : triggers_) {
        std::size_t p = std::string::npos;
        if (t.at_start) {
            const std::size_t lead = text_.find_first_not_of(" \t\r\n");
            if (lead != std::string::npos && text_.compare(lead, t.text.size(), t.text) == 0) {
                p = lead;
            }
        } else {
            p = text_.find(t.text, before >= t.text.size() ? before - t.text.size() + 1 : 0);
        }
        at = std::min(at, p);
    }
    if (at == std::string::npos) {
        return;
    }
    state_ = matcher_.accept_bytes(std::string_view(text_).substr(at)) ? mode::active : mode::free;
    text_ = std::string();
}

namespace {

// What a mask depends on: the UTF-8 progress, the accepted flag and every
// stack's positions from the top down (node ids differ between equal
// states; positions do not).
void state_key(const grammar_matcher& m, std::vector<std::uint32_t>& key) {
    const auto& st = m.state();
    const auto& pool = m.pool();
    const auto& buf = m.stacks();
    key.clear();
    key.push_back(st.partial);
    key.push_back(std::uint32_t(st.need) | std::uint32_t(st.len) << 8 |
                  std::uint32_t(st.accepted) << 16);
    for (std::uint32_t i = st.begin; i < st.end; ++i) {
        for (std::uint32_t n = buf[i]; n != detail::no_node; n = pool[n].parent) {
            key.push_back(pool[n].pos);
        }
        key.push_back(detail::no_node);
    }
}

} // namespace

const token_mask& grammar_processor::current_mask() {
    state_key(matcher_, key_);
    for (std::size_t i = 0; i < masks_.size(); ++i) {
        if (masks_[i].key == key_) {
            std::rotate(masks_.begin(), masks_.begin() + std::ptrdiff_t(i),
                        masks_.begin() + std::ptrdiff_t(i) + 1);
            ++reused_;
            return masks_.front().mask;
        }
    }
    if (masks_.size() < cached_masks) {
        masks_.emplace_back();
    }
    std::rotate(masks_.begin(), masks_.end() - 1, masks_.end()); // the least recent, reused
    masks_.front().key = key_;
    auto& mask = masks_.front().mask;
    fill_token_mask(matcher_, *vocab_, mask, scratch_);
    for (const auto& t : shown_) {
        grammar_matcher m = matcher_;
        if (!t.text.empty() && std::size_t(t.id) < vocab_->vocab_size() && m.accept_bytes(t.text)) {
            mask.set(std::size_t(t.id));
        }
    }
    ++computed_;
    return masks_.front().mask;
}

void grammar_processor::process(std::span<const std::int32_t> generated, std::span<float> logits) {
    catch_up(generated);
    if (state_ != mode::active) {
        return; // lazy: free text until the trigger
    }
    const token_mask& mask = current_mask();
    // A word at a time: inside a string most words allow all 64 tokens.
    for (std::size_t w = 0; w * 64 < logits.size(); ++w) {
        const std::uint64_t bits = w < mask.words.size() ? mask.words[w] : 0;
        if (bits == ~std::uint64_t(0)) {
            continue;
        }
        const std::size_t end = std::min(logits.size(), w * 64 + 64);
        for (std::size_t i = w * 64; i < end; ++i) {
            if (((bits >> (i & 63)) & 1) == 0) {
                logits[i] = -INFINITY;
            }
        }
    }
}

bool grammar_processor::done(std::span<const std::int32_t> generated) {
    catch_up(generated);
    if (state_ != mode::active || !matcher_.is_complete()) {
        return false;
    }
    return !matcher_.can_continue() || (!generated.empty() && vocab_->is_end(generated.back()));
}

} // namespace radixrt::runtime
