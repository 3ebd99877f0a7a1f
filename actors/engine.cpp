// The Engine facade: validates and tokenizes on the caller's thread, then
// hands requests to the scheduler actor.
#include <algorithm>
#include <future>
#include <stdexcept>

#include <boost/asio/post.hpp>
#include <tbb/global_control.h>

#include "actors/engine_core.hpp"
#include "radixrt/engine.hpp"
#include "runtime/synthetic.hpp"

namespace radixrt {

namespace {

class category : public std::error_category {
  public:
    const char* name() const noexcept override { return "radixrt"; }
    std::string message(int c) const override {
        switch (errc(c)) {
        case errc::overloaded:
            return "the server is overloaded";
        case errc::invalid_request:
            return "invalid request";
        case errc::context_exceeded:
            return "the request does not fit the model's context";
        case errc::shutting_down:
            return "the server is shutting down";
        case errc::internal:
            return "internal error";
        }
        return "unknown error";
    }
};

} // namespace

const std::error_category& error_category() {
    static const category c;
    return c;
}

std::error_code make_error_code(errc e) {
    return {int(e), error_category()};
}

void histogram_snapshot::observe(double v) {
    counts.resize(bounds.size() + 1);
    const auto i = std::size_t(std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin());
    ++counts[i];
    sum += v;
    ++count;
}

const char* to_string(finish_reason r) {
    switch (r) {
    case finish_reason::stop:
        return "stop";
    case finish_reason::length:
        return "length";
    case finish_reason::cancelled:
        return "cancelled";
    case finish_reason::error:
        return "error";
    }
    return "?";
}

namespace {

std::shared_ptr<const runtime::model> load_model(const engine_config& c) {
    try {
        return c.model_path.empty() ? runtime::builtin_model(c.builtin_seed)
                                    : runtime::model::load(c.model_path);
    } catch (const std::exception& e) {
        throw std::runtime_error(e.what());
    }
}

void check_config(const engine_config& c) {
    auto need = [](bool ok, const char* what) {
        if (!ok) {
            throw std::runtime_error(std::string("engine config: ") + what);
        }
    };
    need(c.workers >= 1 && c.workers <= 64, "workers must be 1..64");
    need(c.threads_per_worker >= 1 && c.threads_per_worker <= 1024,
         "threads_per_worker must be 1..1024");
    need(c.io_threads >= 1 && c.io_threads <= 64, "io_threads must be 1..64");
    need(c.block_size >= 1 && c.block_size <= 1024, "block_size must be 1..1024");
    need(c.max_batch_tokens >= 1, "max_batch_tokens must be >= 1");
    need(c.max_running >= 1, "max_running must be >= 1");
    need(c.max_prefill_chunk >= 1, "max_prefill_chunk must be >= 1");
    need(c.policy == "lpm" || c.policy == "fcfs", "policy must be \"lpm\" or \"fcfs\"");
}

} // namespace

engine::core::core(engine_config c)
    : cfg((check_config(c), std::move(c))), model(load_model(cfg)),
      tok(runtime::tokenizer::from_gguf(model->file())), system(cfg.io_threads) {
    const auto& mc = model->config();
    info = {model->name(), mc.vocab_size, mc.context_length, mc.n_layers, mc.dim};
    kv_blocks = runtime::kv_storage::blocks_for_bytes(mc, cfg.kv_cache_bytes, cfg.block_size);
    // Let oneTBB run as many threads as the executors' arenas ask for.
    const std::size_t want = cfg.workers * cfg.threads_per_worker;
    if (want > std::size_t(tbb::global_control::active_value(
                   tbb::global_control::max_allowed_parallelism))) {
        threads = std::make_unique<tbb::global_control>(
            tbb::global_control::max_allowed_parallelism, want);
    }
    matcher = std::make_unique<actors::prefix_matcher_actor>(system.context(), cfg.block_size,
                                                             cfg.cache_enabled);
    kv = std::make_unique<actors::kv_block_manager_actor>(system.context(), mc, kv_blocks,
                                                          cfg.block_size, *matcher);
    std::vector<actors::attention_executor*> raw;
    for (std::size_t w = 0; w < cfg.workers; ++w) {
        executors.push_back(std::make_unique<actors::attention_executor>(
            model, cfg.threads_per_worker, "executor-" + std::to_string(w)));
        raw.push_back(executors.back().get());
    }
    actors::scheduler_config sc{cfg.block_size,        cfg.max_batch_tokens, cfg.max_running,
                                cfg.max_prefill_chunk, cfg.policy == "lpm",  128};
    scheduler = std::make_unique<actors::scheduler_actor>(system.context(), sc, model, tok,
                                                          *matcher, *kv, raw, stats, queued);
    stats.update([&](engine_stats& s) {
        s.kv_blocks_total = kv_blocks;
        s.kv_blocks_free = kv_blocks;
    });
    loop_done = scheduler->start();
}

boost::system::result<request_handle, std::error_code>
engine::core::submit(request r, std::shared_ptr<stream_sink> sink, std::weak_ptr<void> self) {
    auto invalid = [](std::string) { return make_error_code(errc::invalid_request); };
    if (!accepting.load()) {
        return make_error_code(errc::shutting_down);
    }
    if (!sink) {
        return invalid("no sink");
    }
    const auto& s = r.sampling;
    if (!(s.temperature >= 0) || !(s.top_p > 0 && s.top_p <= 1) ||
        !(s.min_p >= 0 && s.min_p <= 1) || !(s.repetition_penalty > 0) || r.max_tokens == 0) {
        return invalid("sampling");
    }
    std::vector<runtime::token_id> ids;
    if (!r.prompt_ids.empty()) {
        for (auto id : r.prompt_ids) {
            if (id < 0 || std::size_t(id) >= info.vocab_size) {
                return invalid("token id");
            }
        }
        ids = r.prompt_ids;
    } else {
        ids = tok.encode(r.prompt, r.add_bos);
    }
    if (ids.empty()) {
        return invalid("empty prompt");
    }
    if (ids.size() + r.max_tokens > info.context_length) {
        return make_error_code(errc::context_exceeded);
    }
    if ((ids.size() + r.max_tokens + cfg.block_size - 1) / cfg.block_size > kv_blocks) {
        return make_error_code(errc::context_exceeded); // larger than the whole KV pool
    }
    // Bounded waiting queue: refuse instead of growing without bound.
    std::size_t q = queued.load();
    do {
        if (q >= cfg.max_queued_requests) {
            stats.update([](engine_stats& st) { ++st.requests_rejected; });
            return make_error_code(errc::overloaded);
        }
    } while (!queued.compare_exchange_weak(q, q + 1));
    const auto id = runtime::request_id(next_id.fetch_add(1));
    actors::submission sub{id,
                           std::make_shared<const std::vector<runtime::token_id>>(std::move(ids)),
                           std::move(r), sink, actors::clock_type::now()};
    runtime::tell(*scheduler, scheduler->submit(std::move(sub)));
    return request_handle(std::move(self), runtime::to_int(id));
}

void engine::core::cancel(std::uint64_t id) {
    runtime::tell(*scheduler, scheduler->cancel(runtime::request_id(id)));
}

void engine::core::stop(std::chrono::milliseconds drain) {
    std::lock_guard lock(stop_mutex);
    if (stopped) {
        return;
    }
    stopped = true;
    accepting = false;
    runtime::tell(*scheduler, scheduler->drain(actors::clock_type::now() + drain));
    loop_done.wait();
    system.stop();
    for (auto& e : executors) {
        e->stop();
    }
}

// ---- engine ----

engine::engine(engine_config config) : core_(std::make_shared<core>(std::move(config))) {}
engine::~engine() {
    shutdown();
}

boost::system::result<request_handle, std::error_code>
engine::submit(request r, std::shared_ptr<stream_sink> sink) {
    return core_->submit(std::move(r), std::move(sink),
                         std::weak_ptr<void>(std::static_pointer_cast<void>(core_)));
}

void request_handle::cancel() const {
    if (auto c = core_.lock()) {
        static_cast<engine::core*>(c.get())->cancel(id_);
    }
}

namespace {
class collecting_sink : public stream_sink {
  public:
    void on_token(const token_event& e) override {
        out_.tokens.push_back(e.token);
        out_.text += e.text;
    }
    void on_finish(const finish_event& e) override {
        out_.text += e.text_tail;
        out_.finish = e;
        done_.set_value(std::move(out_));
    }
    std::future<generation> result() { return done_.get_future(); }

  private:
    generation out_;
    std::promise<generation> done_;
};
} // namespace

boost::system::result<generation, std::error_code> engine::generate(request r) {
    auto sink = std::make_shared<collecting_sink>();
    auto f = sink->result();
    auto h = submit(std::move(r), sink);
    if (!h) {
        return h.error();
    }
    return f.get();
}

engine_stats engine::stats() const {
    return core_->stats.read();
}
const model_info& engine::model() const {
    return core_->info;
}

std::vector<std::int32_t> engine::tokenize(const std::string& text, bool add_bos) const {
    return core_->tok.encode(text, add_bos);
}

std::string engine::detokenize(const std::vector<std::int32_t>& ids) const {
    runtime::stream_decoder d(core_->tok);
    std::string out;
    for (auto id : ids) {
        out += core_->tok.valid(id) ? d.push(id) : std::string();
    }
    return out + d.flush();
}

void engine::shutdown(std::chrono::milliseconds drain) {
    core_->stop(drain);
}

engine::core& engine::internals() {
    return *core_;
}

} // namespace radixrt

namespace radixrt {

void engine::core::snapshot_cache(std::size_t max_nodes,
                                  std::function<void(actors::cache_snapshot)> done) {
    runtime::asio::co_spawn(
        matcher->strand(), matcher->snapshot(max_nodes),
        [done = std::move(done)](std::exception_ptr e, actors::cache_snapshot s) {
            if (!e) {
                done(std::move(s));
            }
        });
}

void engine::core::flush_cache(std::function<void(std::size_t)> done) {
    runtime::asio::co_spawn(
        kv->strand(), kv->flush(),
        [done = std::move(done)](std::exception_ptr e, std::size_t n) { done(e ? 0 : n); });
}

} // namespace radixrt
