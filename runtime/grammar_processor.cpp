#include "runtime/grammar_processor.hpp"

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

void grammar_processor::process(std::span<const std::int32_t> generated, std::span<float> logits) {
    catch_up(generated);
    fill_token_mask(matcher_, *vocab_, mask_, scratch_);
    for (std::size_t i = 0; i < logits.size(); ++i) {
        if (!mask_.test(i)) {
            logits[i] = -INFINITY;
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
