#include "runtime/grammar_processor.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace radixrt::runtime {

grammar_processor::grammar_processor(std::shared_ptr<const grammar> g,
                                     std::shared_ptr<const token_trie> vocab)
    : matcher_(std::move(g)), vocab_(std::move(vocab)) {}

// `generated` only grows between calls (a preemption re-runs the prompt,
// not the sampling), so the tokens not seen yet are its tail. A shorter
// span than before means a different sequence: start again from scratch.
void grammar_processor::catch_up(std::span<const std::int32_t> generated) {
    if (generated.size() < seen_) {
        matcher_ = grammar_matcher(matcher_.rules_ptr());
        seen_ = 0;
    }
    for (; seen_ < generated.size(); ++seen_) {
        const token_id id = generated[seen_];
        if (id < 0 || std::size_t(id) >= vocab_->vocab_size()) {
            throw std::invalid_argument("grammar: token id " + std::to_string(id) +
                                        " is outside the vocabulary");
        }
        if (vocab_->is_end(id) && matcher_.is_complete()) {
            continue;
        }
        const std::string& bytes = vocab_->bytes(id);
        if (bytes.empty() || !matcher_.accept_bytes(bytes)) {
            throw std::invalid_argument("grammar: generated token " + std::to_string(id) +
                                        " does not match the grammar");
        }
    }
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
    fill_token_mask(matcher_, *vocab_, masks_.front().mask, scratch_);
    ++computed_;
    return masks_.front().mask;
}

void grammar_processor::process(std::span<const std::int32_t> generated, std::span<float> logits) {
    catch_up(generated);
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
    if (!matcher_.is_complete()) {
        return false;
    }
    return !matcher_.can_continue() || (!generated.empty() && vocab_->is_end(generated.back()));
}

} // namespace radixrt::runtime
