#pragma once
// The logit_processor that constrains a request to a grammar: before each
// token it advances its matcher over the tokens generated since its last
// call, then sets the logit of every token the grammar does not allow to
// -infinity. EOS (and the other end-of-generation tokens) stay allowed only
// once the grammar is complete, so a grammar that cannot continue leaves
// EOS as the only choice and the request ends by itself.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "radixrt/request.hpp"
#include "runtime/grammar_mask.hpp"

namespace radixrt::runtime {

/// Preserved control tokens: tokens the trie never allows (control ones,
/// whose piece is empty) that this request emits as their text ("[TOOL_CALLS]");
/// the grammar matches them as that text.
struct shown_token {
    token_id id = 0;
    std::string text;
};

/// Where a lazy grammar starts (radixrt::constraint_trigger).
struct grammar_trigger {
    std::string text;
    bool at_start = false; ///< only as the output's first text, after white space
};

/// Stateful: one instance per generated sequence (for n > 1, one each; the
/// grammar and the trie are what they share).
///
/// Lazy (triggers given): the output is free until one of the triggers
/// appears in it; from the trigger's first byte on the grammar must match
/// the rest (it begins with the trigger's text). Should the text after the
/// trigger inside the same token not fit the grammar, the processor stays
/// free for the rest of the request.
class grammar_processor final : public logit_processor {
  public:
    grammar_processor(std::shared_ptr<const grammar> g, std::shared_ptr<const token_trie> vocab,
                      std::vector<shown_token> shown = {},
                      std::vector<grammar_trigger> triggers = {});

    /// Throws when a generated token does not match the grammar (it was not
    /// sampled from this processor's mask) or the grammar is too ambiguous.
    void process(std::span<const std::int32_t> generated, std::span<float> logits) override;

    /// Catches up with the new token; true when the output is finished:
    /// the grammar is complete and cannot continue (so only EOS could
    /// follow), or an end token was generated where it is complete. A
    /// complete grammar that may still continue (`[0-9]+` after a digit)
    /// is not done: the model chooses between more text and EOS. A lazy
    /// grammar is never done before its trigger.
    bool done(std::span<const std::int32_t> generated) override;

    /// The grammar constrains the output (always, unless lazy and not yet triggered).
    bool active() const { return state_ == mode::active; }
    /// Root is fully matched by the tokens seen so far (or an end token was
    /// generated after it): the engine may stop the request here.
    bool is_complete() const { return matcher_.is_complete(); }
    /// Some more text is allowed after what was generated.
    bool can_continue() const { return matcher_.can_continue(); }
    const grammar_matcher& matcher() const { return matcher_; }

    /// Masks computed, and masks reused because the state had been seen.
    std::size_t masks_computed() const { return computed_; }
    std::size_t masks_reused() const { return reused_; }

  private:
    // Inside a JSON string (or any loop) the matcher state after one more
    // character is the one before it, so its mask is too: the last few
    // masks are kept by state (its stacks' positions and the UTF-8 progress,
    // which is all a mask depends on) and reused instead of walking the trie.
    struct cached_mask {
        std::vector<std::uint32_t> key;
        token_mask mask;
    };
    static constexpr std::size_t cached_masks = 4;

    enum class mode { waiting, active, free };

    void catch_up(std::span<const std::int32_t> generated);
    void feed(token_id id);
    void watch(token_id id);
    const std::string& bytes_of(token_id id) const;
    const token_mask& current_mask();

    grammar_matcher matcher_;
    std::shared_ptr<const token_trie> vocab_;
    std::vector<shown_token> shown_; // sorted by id
    std::vector<grammar_trigger> triggers_;
    mode state_ = mode::active;
    std::string text_;               // lazy, before the trigger: the output so far
    std::size_t seen_ = 0;           // tokens of `generated` already fed to the matcher
    std::vector<cached_mask> masks_; // most recently used first
    std::vector<std::uint32_t> key_;
    mask_scratch scratch_;
    std::size_t computed_ = 0, reused_ = 0;
};

} // namespace radixrt::runtime
