#pragma once
// How one API kind shapes its answers: stream chunks and the whole response.
// One formatter per kind (OpenAI completions, OpenAI chat, SGLang generate,
// the WebSocket protocol); the request group (request_group.hpp) feeds it
// the engine's events and sends what it returns. Formatters only build JSON.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/api_error.hpp"
#include "http/json_util.hpp"
#include "http/tool_calls.hpp"
#include "radixrt/request.hpp"

namespace radixrt::http {

/// One choice (an engine request) of an API request, as the group gathers it.
struct choice_state {
    std::string text;                // generated text so far (no echo)
    std::vector<std::string> pieces; // each token's text
    std::vector<std::int32_t> ids;
    std::vector<float> logprobs;
    std::vector<std::vector<token_logprob>> top; // per token, when alternatives were asked
    std::vector<std::size_t> offsets;            // with logprobs: where each token's piece starts
    std::size_t piece_bytes = 0;                 // with logprobs: the pieces' total size
    std::vector<prompt_token_logprob> prompt; // echo with logprobs: the prompt's scores
    finish_event fin;
    bool done = false;
    bool started = false; // a chunk of it was sent
};

/// What every formatter of one API request knows.
struct call_info {
    std::string id; // the response id ("cmpl-...")
    std::string model;
    std::int64_t created = 0;
    std::size_t n = 1;             // choices per prompt
    std::vector<std::string> echo; // per prompt: its text when echo was asked, else empty
    std::vector<std::int32_t> echo_first; // per prompt, echo with logprobs: its first token
    int input_logprobs_from = -1;         // /generate logprob_start_len (-1: no input logprobs)
    int logprobs = -1;             // alternatives per token asked for (-1: no logprobs)
    bool include_usage = false;    // stream_options.include_usage
    json client_id;                // WebSocket: the client's request id, echoed as given
    std::string fingerprint;       // system_fingerprint (OpenAI formats)
    bool logprob_text = true;      // /generate: return_text_in_logprobs
    tool_format tools = tool_format::none; // chat: the output is parsed for calls in this syntax
    /// The text of one token (its piece, possibly a partial UTF-8 sequence).
    std::function<std::string(std::int32_t)> piece;
};

/// The piece's bytes as OpenAI's `bytes`: an array of ints.
json token_bytes(const std::string& piece);

class response_format {
  public:
    explicit response_format(call_info info) : info_(std::move(info)) {}
    virtual ~response_format() = default;

    /// Stream chunk for one token of choice i (nullopt: nothing to send).
    virtual std::optional<json> token_chunk(std::size_t i, const choice_state& c,
                                            const token_event& e) const = 0;
    /// Stream chunk when choice i ends normally.
    virtual std::optional<json> finish_chunk(std::size_t i, const choice_state& c) const = 0;
    /// Stream chunk after every choice ended (the usage chunk).
    virtual std::optional<json> final_chunk(const std::vector<choice_state>&) const {
        return std::nullopt;
    }
    /// Stream chunk for an error.
    virtual json error_chunk(const api_error& e) const;
    /// Whether a stream ends with "data: [DONE]".
    virtual bool done_marker() const { return true; }
    /// The whole (non-streamed) response.
    virtual json response(const std::vector<choice_state>& all) const = 0;

    const call_info& info() const { return info_; }

  protected:
    call_info info_;
};

/// What the two OpenAI formats share: the chunk envelope and the usage chunk.
class openai_format : public response_format {
  public:
    openai_format(call_info info, const char* chunk_object)
        : response_format(std::move(info)), chunk_object_(chunk_object) {}
    std::optional<json> final_chunk(const std::vector<choice_state>& all) const override;

  protected:
    /// {id, object, created, model, choices} (+ usage: null with include_usage).
    json chunk(json choices) const;
    /// The complete (non-streamed) response: {id, object, created, model,
    /// system_fingerprint, choices, usage}.
    json full_response(const char* object, json choices,
                       const std::vector<choice_state>& all) const;

  private:
    const char* chunk_object_;
};

std::unique_ptr<response_format> completions_format(call_info info);
std::unique_ptr<response_format> chat_completions_format(call_info info);
std::unique_ptr<response_format> generate_format(call_info info);
std::unique_ptr<response_format> websocket_format(call_info info);

/// "stop", "length", "cancelled" or "error".
const char* finish_name(finish_reason r);
/// OpenAI usage: a prompt counts once however many choices it has.
json openai_usage(const std::vector<choice_state>& all, std::size_t n);

} // namespace radixrt::http
