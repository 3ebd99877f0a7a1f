#pragma once
/// radixrt's embedding API: an engine that serves many concurrent generation
/// requests on one model, sharing cached prompt prefixes between them.
///
///     radixrt::engine eng(radixrt::engine_config{});           // built-in model
///     auto r = eng.generate({.prompt = "Once upon a time", .max_tokens = 32});
///
/// Thread safety: every member function may be called from any thread.
/// Callbacks (stream_sink, snapshot and flush completions) run on the
/// engine's scheduler thread, one at a time per engine; they must return
/// quickly and must not block or call a blocking engine function (generate,
/// shutdown).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "radixrt/introspection.hpp"
#include "radixrt/request.hpp"

namespace radixrt {

struct engine_config {
    std::string model_path;                  ///< a GGUF file; empty: the built-in synthetic model
    std::uint64_t builtin_seed = 42;         ///< seed of the built-in model
    std::size_t workers = 1;                 ///< attention executors
    std::size_t threads_per_worker = 2;      ///< oneTBB threads in each executor's arena
    std::size_t io_threads = 1;              ///< threads running the actors (no compute)
    std::size_t kv_cache_bytes = 256u << 20; ///< KV pool size
    std::string kv_type = "f16";             ///< KV elements: "f16" (as llama.cpp) or "f32"
    std::size_t block_size = 16;             ///< tokens per KV block
    bool cache_enabled = true;               ///< the radix prefix cache
    std::size_t max_batch_tokens = 2048;     ///< tokens computed per step
    std::size_t max_running = 64;            ///< requests decoding or prefilling at once
    std::size_t max_prefill_chunk = 128;     ///< prompt tokens per request per step (a long
                                             ///< prompt's chunk stalls every decode of its step)
    std::size_t max_queued_requests = 1024;  ///< beyond this, submit() says overloaded
    std::size_t max_prompt_tokens = 0;       ///< longest prompt accepted; 0: the context
    std::string policy = "lpm";              ///< "lpm" (longest cached prefix first) or "fcfs"
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

class engine {
  public:
    /// Loads the model and starts the actors. Throws std::runtime_error with
    /// a clear message for a bad config or an unloadable model.
    explicit engine(engine_config config);
    ~engine(); ///< shutdown(0) if still running
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    /// Validates and queues a request; its events go to sink. Fails at once
    /// with errc::overloaded, invalid_request, context_exceeded or
    /// shutting_down, and a message (and param) saying why.
    expected<request_handle> submit(request r, std::shared_ptr<stream_sink> sink);
    /// Several requests, all or none: validated first, then queued together
    /// if the queue has room for all of them (else errc::overloaded and
    /// nothing is queued). The error's message says which request failed.
    expected<std::vector<request_handle>>
    submit_all(std::vector<request> rs, std::vector<std::shared_ptr<stream_sink>> sinks);
    /// Blocking convenience: submit and wait for the whole result. Do not
    /// call it from an engine callback.
    expected<generation> generate(request r);

    engine_stats stats() const;
    const model_info& model() const;
    /// parse_special: control and user-defined token texts ("<|im_start|>")
    /// become their ids, as in a rendered chat prompt.
    std::vector<std::int32_t> tokenize(std::string_view text, bool add_bos,
                                       bool parse_special = false) const;
    /// Text of ids; ids outside the vocabulary are skipped.
    std::string detokenize(std::span<const std::int32_t> ids) const;
    /// The bytes one token stands for (empty for control tokens and bad ids).
    std::string token_text(std::int32_t id) const;

    /// The prefix cache as it is between two steps (the namespaces and graph
    /// size of q). done runs once, on the scheduler thread, or at once on
    /// the caller's with errc::shutting_down once the engine has stopped.
    void cache_snapshot(cache_query q, std::function<void(expected<radixrt::cache_snapshot>)> done);
    /// Evicts every cached prefix no running request uses; done gets the
    /// number of KV blocks freed (same threading as cache_snapshot).
    void flush_cache(std::function<void(expected<std::size_t>)> done);

    /// Stops accepting work, lets running requests finish for up to `drain`,
    /// ends the rest with errc::shutting_down, and stops the actors. Idempotent.
    void shutdown(std::chrono::milliseconds drain = std::chrono::milliseconds(0));

  private:
    class core;
    std::shared_ptr<core> core_;
    friend class request_handle;
};

} // namespace radixrt
