#pragma once
/// What a caller hands the engine and what it gets back: requests, their
/// sampling parameters and hooks, the events of a request's stream, and the
/// error type every fallible call returns. Plain types; no engine needed.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

namespace radixrt {

/// Why a call failed or a request did not finish normally.
enum class errc {
    overloaded = 1,       ///< the waiting queue is full; retry later
    invalid_request = 2,  ///< bad parameters (the message and param say which)
    context_exceeded = 3, ///< prompt + max_tokens do not fit the context or the KV pool
    shutting_down = 4,    ///< the engine no longer accepts work
    internal = 5,         ///< a failure inside the engine (logged)
};
const std::error_category& error_category();
std::error_code make_error_code(errc e);

/// An error with its text: what a caller can show a user as it is.
struct error {
    errc code = errc::internal;
    std::string message;
    std::string param = {}; ///< the offending request field (OpenAI spelling), if one
};

/// Throws std::system_error; used by expected<T>::value() on an error.
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

/// A value or an error (boost::system::result with radixrt::error).
template <typename T> using expected = boost::system::result<T, error>;

/// How the next token is chosen. Order of application: logit_bias, then the
/// repetition, presence and frequency penalties, then the request's logit
/// processors, then temperature and the top-k, top-p and min-p cut-offs.
struct sampling_params {
    float temperature = 1.0f;        ///< 0: greedy
    std::size_t top_k = 0;           ///< 0: off
    float top_p = 1.0f;              ///< 1: off
    float min_p = 0.0f;              ///< 0: off
    float repetition_penalty = 1.0f; ///< over prompt and output, CTRL-style (1: off)
    float presence_penalty = 0.0f;   ///< over output, OpenAI semantics
    float frequency_penalty = 0.0f;
    std::vector<std::pair<std::int32_t, float>> logit_bias = {}; ///< (token id, added logit)
    std::uint64_t seed = 0; ///< same seed and request: same tokens, alone or batched
};

/// A per-request hook on the logits, before the token is chosen: the seam
/// for grammar-constrained decoding and similar masks.
///
/// `process` runs on an engine compute thread, once per generated token,
/// never concurrently for one request (different requests' processors may
/// run in parallel). `generated` holds the tokens sampled so far (it grows
/// by one between calls; after a preemption nothing is re-sampled, so the
/// processor's own state stays valid). Mask a token by setting its logit to
/// -infinity. If every token ends up masked, or process throws, the request
/// ends with an error naming the cause.
class logit_processor {
  public:
    virtual ~logit_processor() = default;
    virtual void process(std::span<const std::int32_t> generated, std::span<float> logits) = 0;
    /// Asked right after each token is sampled (same thread rules as
    /// process; `generated` ends with the new token): true ends the request
    /// with finish_reason::stop after that token is emitted. A grammar says
    /// so when its sentence is complete and nothing more may follow. If it
    /// throws, the request ends with an error. The default never stops.
    virtual bool done(std::span<const std::int32_t> generated) {
        (void)generated;
        return false;
    }
};

/// The kind of language a request's output must belong to.
enum class constraint_kind {
    none,        ///< free text
    gbnf,        ///< a GBNF grammar (llama.cpp's format), start rule `root`
    json_schema, ///< a JSON Schema, as JSON text
    json_object, ///< any JSON object (text unused)
    regex,       ///< a regular expression the whole output must match
};

/// Structured output: the engine compiles it when the request is
/// submitted (an unsupported or malformed one is an invalid_request error
/// whose param is `param`, or the kind's name when empty: "grammar",
/// "json_schema", "response_format", "regex"; the message names the
/// keyword) and constrains every sampled token to it, in front of the
/// request's own logit processors. The request ends with `stop` once the
/// output is complete and cannot continue, or when EOS is sampled (allowed
/// only where the output is complete); `length` when max_tokens cuts it.
/// See docs/grammars.md for what each kind supports.
/// Where a lazy constraint starts (output_constraint::triggers).
struct constraint_trigger {
    std::string text;      ///< starts the constrained part; the grammar matches from its first byte
    bool at_start = false; ///< counts only as the output's first text (after white space)
};

struct output_constraint {
    constraint_kind kind = constraint_kind::none;
    std::string text = {};  ///< the grammar, schema or regex
    std::string param = {}; ///< the request field to name in errors (the caller's spelling)
    /// Empty: the whole output must match. Otherwise the constraint is lazy:
    /// the output is free until one of these texts appears in it, and from
    /// that text's first byte on the rest of the output must match (so the
    /// grammar begins with the trigger's text). This is how a tool call is
    /// enforced once a model starts one of its own accord. Should the rest
    /// of the token that completes a trigger not fit the grammar, the output
    /// stays free.
    std::vector<constraint_trigger> triggers = {};
};

inline constexpr std::size_t max_top_logprobs = 20;

struct request {
    std::string prompt = {};                   ///< text, or
    std::vector<std::int32_t> prompt_ids = {}; ///< token ids (used when not empty)
    bool add_bos = true; ///< prepend BOS to text prompts when the model wants it
    /// Control-token texts in a text prompt ("<s>", "<|im_start|>") become
    /// their ids (for prompts rendered by a chat template); otherwise they
    /// are tokenized as plain text.
    bool parse_special = false;
    std::size_t max_tokens = 128;
    sampling_params sampling = {};
    std::vector<std::string> stop = {};      ///< stop strings (never emitted)
    std::vector<std::int32_t> stop_ids = {}; ///< stop token ids (never emitted)
    bool ignore_eos = false;
    bool logprobs = false; ///< fill token_event::logprob
    /// Score the prompt: each prompt token after the first gets its
    /// log-probability given the tokens before it (and top_logprobs
    /// alternatives), from the model's own logits at temperature 1 (no bias,
    /// penalties or processors), delivered once by stream_sink::on_prompt
    /// before the first token. The cache keeps no logits, so such a request
    /// computes its whole prompt (the cached KV of other requests is not
    /// reused for it; what it computes is cached as usual).
    bool prompt_logprobs = false;
    std::size_t top_logprobs = 0;     ///< 0..max_top_logprobs alternatives per token
    int priority = 0;                 ///< higher is admitted first and preempted last
    std::string cache_namespace = {}; ///< requests in different namespaces never share KV
    std::vector<std::shared_ptr<logit_processor>> logit_processors = {}; ///< applied in order
    output_constraint constraint = {}; ///< structured output (applied before logit_processors)
    /// Control tokens, by their text ("[TOOL_CALLS]", "<|python_tag|>"), that
    /// this request's output shows as that text (token_event::text) and that
    /// its constraint matches as that text. Control tokens are otherwise
    /// invisible and never allowed by a constraint. Texts that are not control
    /// tokens of the model's vocabulary are ignored, so a caller may list
    /// the markers of a format without knowing the vocabulary.
    std::vector<std::string> preserved_tokens = {};
};

enum class finish_reason { stop, length, cancelled, error };
const char* to_string(finish_reason r);

struct token_logprob {
    std::int32_t token = 0;
    float logprob = 0.0f;
};

/// One generated token. Log-probabilities are taken from the logits the
/// token was chosen from (after bias, penalties and logit processors) at
/// temperature 1, before the top-k/top-p/min-p cut-offs, so the sampled
/// token's value is comparable with its alternatives'.
struct token_event {
    std::int32_t token = 0;
    std::string text; ///< the text this token completes (may be empty: unfinished UTF-8 or a
                      ///< possible stop string held back)
    std::size_t index = 0;
    float logprob = 0.0f;                    ///< set when request::logprobs
    std::vector<token_logprob> top_logprobs; ///< request::top_logprobs of them, most likely first
};

/// A prompt token's log-probability given the prompt before it.
struct prompt_token_logprob {
    std::int32_t token = 0;
    float logprob = 0.0f;
    std::vector<token_logprob> top_logprobs; ///< request::top_logprobs of them, most likely first
};

struct request_usage {
    std::size_t prompt_tokens = 0;
    std::size_t cached_tokens = 0; ///< prompt tokens served from the prefix cache
    std::size_t completion_tokens = 0;
    double queue_ms = 0; ///< submit to first scheduled
    double ttft_ms = 0;  ///< submit to first token
    double total_ms = 0; ///< submit to finish
};

struct finish_event {
    finish_reason reason = finish_reason::stop;
    request_usage usage;
    std::string text_tail; ///< text released at the end (held back for a stop string)
    std::error_code error; ///< set when reason == error
    std::string message;
};

/// Receives one request's stream. The engine holds it weakly: when the last
/// shared_ptr goes away (a client disconnected) the request is cancelled.
class stream_sink {
  public:
    virtual ~stream_sink() = default;
    virtual void on_token(const token_event& e) = 0;
    /// request::prompt_logprobs: prompt tokens 1..n-1 scored, once, before
    /// the first on_token. The default ignores them.
    virtual void on_prompt(std::span<const prompt_token_logprob> tokens) { (void)tokens; }
    /// Exactly once per accepted request, last.
    virtual void on_finish(const finish_event& e) = 0;
};

struct generation {
    std::vector<std::int32_t> tokens;
    std::string text;
    std::vector<prompt_token_logprob> prompt_logprobs; ///< with request::prompt_logprobs
    finish_event finish;
};

} // namespace radixrt

namespace std {
template <> struct is_error_code_enum<radixrt::errc> : true_type {};
} // namespace std
