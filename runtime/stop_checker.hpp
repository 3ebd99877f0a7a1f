#pragma once
// Streams a request's generated text and finds stop strings in it: text that
// could still turn out to be the start of a stop string is held back, so no
// text past a stop string is ever emitted, even when the stop string spans
// several tokens.
#include <string>
#include <vector>

#include "runtime/tokenizer.hpp"

namespace radixrt::runtime {

class stop_checker {
  public:
    /// shown: control tokens whose text the output shows (sorted ids).
    stop_checker(const tokenizer& tok, std::vector<std::string> stops,
                 std::vector<token_id> shown = {});

    struct step {
        std::string text;     // released now
        bool stopped = false; // a stop string was found (text ends right before it)
    };
    /// Adds one generated token.
    step push(token_id id);
    /// Text still held back, released at the end of a request that did not stop.
    std::string flush();

  private:
    stream_decoder decoder_;
    std::vector<std::string> stops_;
    std::size_t longest_ = 0;
    std::string held_;
};

} // namespace radixrt::runtime
