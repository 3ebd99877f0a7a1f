#pragma once
/// radixrt's embedding API: an engine that serves many concurrent generation
/// requests on one model, sharing cached prompt prefixes between them.
///
///     radixrt::engine eng(radixrt::engine_config{});           // built-in model
///     auto r = eng.generate({.prompt = "Once upon a time", .max_tokens = 32});
///
/// Thread safety: every member function may be called from any thread.
/// Callbacks (stream_sink) run on the engine's scheduler thread, one at a
/// time per engine; they must return quickly and must not block or call
/// back into a blocking engine function (generate, shutdown).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <boost/system/result.hpp>

namespace radixrt {

/// Why a request could not be accepted or did not finish normally.
enum class errc {
    overloaded = 1,       // the waiting queue is full; retry later
    invalid_request = 2,  // bad parameters (message says which)
    context_exceeded = 3, // prompt + max_tokens do not fit the model's context
    shutting_down = 4,    // the engine no longer accepts work
    internal = 5,         // a failure inside the engine (logged)
};
const std::error_category& error_category();
std::error_code make_error_code(errc e);

struct engine_config {
    std::string model_path;                  ///< a GGUF file; empty: the built-in synthetic model
    std::uint64_t builtin_seed = 42;         ///< seed of the built-in model
    std::size_t workers = 1;                 ///< attention executors
    std::size_t threads_per_worker = 2;      ///< oneTBB threads in each executor's arena
    std::size_t io_threads = 1;              ///< threads running the actors (no compute)
    std::size_t kv_cache_bytes = 256u << 20; ///< KV pool size
    std::size_t block_size = 16;             ///< tokens per KV block
    bool cache_enabled = true;               ///< the radix prefix cache
    std::size_t max_batch_tokens = 2048;     ///< tokens computed per step
    std::size_t max_running = 64;            ///< requests decoding or prefilling at once
    std::size_t max_prefill_chunk = 512;     ///< prompt tokens per request per step
    std::size_t max_queued_requests = 1024;  ///< beyond this, submit() says overloaded
    std::string policy = "lpm";              ///< "lpm" (longest cached prefix first) or "fcfs"
};

struct sampling_options {
    float temperature = 1.0f; ///< 0: greedy
    std::size_t top_k = 0;    ///< 0: off
    float top_p = 1.0f;
    float min_p = 0.0f;
    float repetition_penalty = 1.0f;
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    std::vector<std::pair<std::int32_t, float>> logit_bias = {};
    std::uint64_t seed = 0;
};

struct request {
    std::string prompt = {};                   ///< text, or
    std::vector<std::int32_t> prompt_ids = {}; ///< token ids (used when not empty)
    bool add_bos = true; ///< prepend BOS to text prompts when the model wants it
    std::size_t max_tokens = 128;
    sampling_options sampling = {};
    std::vector<std::string> stop = {};      ///< stop strings (never emitted)
    std::vector<std::int32_t> stop_ids = {}; ///< stop token ids (never emitted)
    bool ignore_eos = false;
    bool logprobs = false;            ///< fill token_event::logprob
    std::string cache_namespace = {}; ///< requests in different namespaces never share KV
};

enum class finish_reason { stop, length, cancelled, error };
const char* to_string(finish_reason r);

struct token_event {
    std::int32_t token = 0;
    std::string text; ///< the text this token completes (may be empty: unfinished UTF-8 or a
                      ///< possible stop string held back)
    std::size_t index = 0;
    float logprob = 0.0f;
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
    std::string
        text_tail; ///< text released at the end (held back for a stop string that did not match)
    std::error_code error; ///< set when reason == error
    std::string message;
};

/// Receives one request's stream. The engine holds it weakly: when the last
/// shared_ptr goes away (a client disconnected) the request is cancelled.
class stream_sink {
  public:
    virtual ~stream_sink() = default;
    virtual void on_token(const token_event& e) = 0;
    /// Exactly once per accepted request, last.
    virtual void on_finish(const finish_event& e) = 0;
};

class engine;

class request_handle {
  public:
    request_handle() = default;
    std::uint64_t id() const { return id_; }
    /// Cancels the request wherever it is; its finish event says `cancelled`
    /// (unless it had already finished). Safe to call more than once.
    void cancel() const;

  private:
    friend class engine;
    request_handle(std::weak_ptr<void> core, std::uint64_t id) : core_(std::move(core)), id_(id) {}
    std::weak_ptr<void> core_;
    std::uint64_t id_ = 0;
};

struct generation {
    std::vector<std::int32_t> tokens;
    std::string text;
    finish_event finish;
};

/// Counts per bucket (counts[i]: values <= bounds[i]; the last: the rest).
struct histogram_snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> counts;
    double sum = 0;
    std::uint64_t count = 0;
    void observe(double v);
};

struct engine_stats {
    std::size_t waiting = 0, running = 0;
    std::size_t kv_blocks_total = 0, kv_blocks_free = 0, kv_blocks_cached = 0,
                kv_blocks_evictable = 0;
    std::uint64_t requests_finished = 0, requests_cancelled = 0, requests_failed = 0,
                  requests_rejected = 0;
    std::uint64_t prompt_tokens = 0, cached_prompt_tokens = 0, computed_prompt_tokens = 0,
                  generated_tokens = 0;
    std::uint64_t steps = 0, preemptions = 0;
    double last_step_ms = 0;
    std::size_t last_batch_tokens = 0;
    histogram_snapshot step_seconds{{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}, {}, 0, 0};
    histogram_snapshot batch_tokens{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}, {}, 0, 0};
};

struct model_info {
    std::string name;
    std::size_t vocab_size = 0, context_length = 0, n_layers = 0, dim = 0;
};

class engine {
  public:
    /// Loads the model and starts the actors. Throws std::runtime_error with
    /// a clear message for a bad config or an unloadable model.
    explicit engine(engine_config config);
    ~engine(); ///< shutdown(0) if still running
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    /// Queues a request; its events go to sink. Fails at once with
    /// errc::overloaded, invalid_request, context_exceeded or shutting_down.
    boost::system::result<request_handle, std::error_code>
    submit(request r, std::shared_ptr<stream_sink> sink);
    /// Blocking convenience: submit and wait for the whole result. Do not
    /// call it from a stream_sink callback.
    boost::system::result<generation, std::error_code> generate(request r);

    engine_stats stats() const;
    const model_info& model() const;
    std::vector<std::int32_t> tokenize(const std::string& text, bool add_bos) const;
    std::string detokenize(const std::vector<std::int32_t>& ids) const;

    /// Stops accepting work, lets running requests finish for up to `drain`,
    /// cancels the rest, and stops the actors. Idempotent.
    void shutdown(std::chrono::milliseconds drain = std::chrono::milliseconds(0));

    /// The implementation (also reachable by the gateway for introspection).
    class core;
    core& internals();

  private:
    std::shared_ptr<core> core_;
};

} // namespace radixrt

namespace std {
template <> struct is_error_code_enum<radixrt::errc> : true_type {};
} // namespace std
