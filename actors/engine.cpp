// The engine facade: validates and tokenizes on the caller's thread, then
// hands everything to the scheduler actor as inbox messages.
#include <future>
#include <stdexcept>

#include "actors/engine_core.hpp"
#include "radixrt/engine.hpp"
#include "runtime/synthetic.hpp"

namespace radixrt {

namespace {

std::shared_ptr<const runtime::model> load_model(const engine_config& c) {
    try {
        return c.model_path.empty() ? runtime::builtin_model(c.builtin_seed)
                                    : runtime::model::load(c.model_path);
    } catch (const std::exception& e) {
        throw std::runtime_error(e.what());
    }
}

const engine_config& checked(const engine_config& c) {
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
    runtime::kv_type kv;
    need(runtime::parse_kv_type(c.kv_type, kv), "kv_type must be \"f16\" or \"f32\"");
    return c;
}

model_info describe(const runtime::model& m, const runtime::tokenizer& tok) {
    const auto& mc = m.config();
    model_info i;
    i.name = m.name();
    i.architecture = m.file().get_string("general.architecture").value_or("llama");
    i.vocab_size = mc.vocab_size;
    i.context_length = mc.context_length;
    i.n_layers = mc.n_layers;
    i.dim = mc.dim;
    i.bos = tok.bos();
    i.eos = tok.eos();
    i.add_bos = tok.add_bos();
    i.bos_text = tok.valid(i.bos) ? tok.text(i.bos) : std::string();
    i.eos_text = tok.valid(i.eos) ? tok.text(i.eos) : std::string();
    i.chat_template = m.file().get_string("tokenizer.chat_template").value_or("");
    return i;
}

} // namespace

engine::core::core(engine_config c)
    : cfg(checked(c)), model(load_model(cfg)), tok(runtime::tokenizer::from_gguf(model->file())),
      info(describe(*model, tok)), system_(cfg.io_threads) {
    const auto& mc = model->config();
    runtime::kv_type kvt = runtime::kv_type::f16;
    runtime::parse_kv_type(cfg.kv_type, kvt);
    const std::size_t kv_blocks =
        runtime::kv_storage::blocks_for_bytes(mc, cfg.kv_cache_bytes, cfg.block_size, kvt);
    limits = {mc.vocab_size, mc.context_length, cfg.max_prompt_tokens, kv_blocks * cfg.block_size};
    // Let oneTBB run as many threads as the executors' arenas ask for.
    const std::size_t want = cfg.workers * cfg.threads_per_worker;
    if (want > std::size_t(tbb::global_control::active_value(
                   tbb::global_control::max_allowed_parallelism))) {
        threads_ = std::make_unique<tbb::global_control>(
            tbb::global_control::max_allowed_parallelism, want);
    }
    kv_ = std::make_shared<runtime::kv_storage>(mc, kv_blocks, cfg.block_size, kvt);
    std::vector<actors::step_executor*> raw;
    for (std::size_t w = 0; w < cfg.workers; ++w) {
        executors_.push_back(std::make_unique<actors::forward_executor>(
            model, kv_, cfg.threads_per_worker, "executor-" + std::to_string(w)));
        raw.push_back(executors_.back().get());
    }
    actors::planner_config pc;
    pc.block_size = cfg.block_size;
    pc.kv_blocks = kv_blocks;
    pc.context_length = mc.context_length;
    pc.max_batch_tokens = cfg.max_batch_tokens;
    pc.max_running = cfg.max_running;
    pc.max_prefill_chunk = cfg.max_prefill_chunk;
    pc.policy =
        cfg.policy == "lpm" ? actors::admission_policy::lpm : actors::admission_policy::fcfs;
    pc.cache_enabled = cfg.cache_enabled;
    scheduler_ =
        std::make_unique<actors::scheduler_actor>(system_.context(), pc, tok, raw, stats, queued_);
    stats.update([&](engine_stats& s) {
        s.kv_blocks_total = kv_blocks;
        s.kv_blocks_free = kv_blocks;
        s.kv_capacity_tokens = kv_->capacity_tokens();
        s.kv_bytes = kv_->bytes();
    });
    loop_done_ = scheduler_->start();
}

bool engine::core::post(actors::scheduler_message m) {
    std::shared_lock lock(gate_);
    if (!open_) {
        return false;
    }
    scheduler_->post(std::move(m));
    return true;
}

expected<std::vector<std::uint64_t>>
engine::core::submit(std::vector<request> rs, std::vector<std::shared_ptr<stream_sink>> sinks) {
    if (rs.size() != sinks.size()) {
        return error{errc::invalid_request, "one stream sink per request is required"};
    }
    std::vector<std::vector<runtime::token_id>> prompts;
    std::vector<std::vector<runtime::token_id>> shown(rs.size());
    for (std::size_t i = 0; i < rs.size(); ++i) {
        auto fail = [&](error e) {
            if (rs.size() > 1) {
                e.message = "request " + std::to_string(i) + ": " + e.message;
            }
            return e;
        };
        if (!sinks[i]) {
            return fail(error{errc::invalid_request, "a stream sink is required"});
        }
        if (auto ok = actors::check_params(rs[i], limits); !ok) {
            return fail(ok.error());
        }
        // One processor per request (so per sequence: n > 1 arrives as
        // separate requests), in front of the caller's own processors.
        shown[i] = actors::preserved_ids(rs[i], tok);
        auto constrained = constraints.processor(rs[i].constraint, shown[i]);
        if (!constrained) {
            return fail(constrained.error());
        }
        if (*constrained) {
            auto& ps = rs[i].logit_processors;
            ps.insert(ps.begin(), std::move(*constrained));
            rs[i].constraint.text.clear(); // compiled: the planner does not need it
        }
        auto ids = actors::check_prompt(rs[i], limits, tok);
        if (!ids) {
            return fail(ids.error());
        }
        prompts.push_back(std::move(*ids));
    }
    std::shared_lock lock(gate_);
    if (!accepting_) {
        return error{errc::shutting_down, "the engine is shutting down"};
    }
    // Bounded waiting queue: refuse instead of growing without bound.
    const std::size_t n = rs.size();
    std::size_t q = queued_.load();
    do {
        if (q + n > cfg.max_queued_requests) {
            stats.update([n](engine_stats& st) { st.requests_rejected += n; });
            return error{errc::overloaded, "the waiting queue is full (" +
                                               std::to_string(cfg.max_queued_requests) +
                                               " requests); retry later"};
        }
    } while (!queued_.compare_exchange_weak(q, q + n));
    std::vector<std::uint64_t> ids;
    const auto now = actors::clock_type::now();
    for (std::size_t i = 0; i < n; ++i) {
        const auto id = runtime::request_id(next_id_.fetch_add(1));
        rs[i].prompt.clear();
        rs[i].prompt_ids.clear();
        actors::submission sub{id, std::move(prompts[i]), std::move(rs[i]), std::move(shown[i]),
                               now};
        scheduler_->post(actors::submit_msg{std::move(sub), sinks[i]});
        ids.push_back(runtime::to_int(id));
    }
    return ids;
}

void engine::core::cancel(std::uint64_t id) {
    post(actors::cancel_msg{runtime::request_id(id)});
}

void engine::core::snapshot(cache_query q,
                            std::function<void(expected<radixrt::cache_snapshot>)> done) {
    // The pool's size and element type are the engine's, not the tree's.
    const std::size_t capacity = kv_->capacity_tokens();
    const std::string type(runtime::to_string(kv_->type()));
    auto filled = [done, capacity, type](expected<radixrt::cache_snapshot> s) {
        if (s) {
            s->capacity_tokens = capacity;
            s->kv_type = type;
        }
        done(std::move(s));
    };
    if (!post(actors::snapshot_msg{std::move(q), filled})) {
        done(error{errc::shutting_down, "the engine has stopped"});
    }
}

void engine::core::flush(std::function<void(expected<std::size_t>)> done) {
    if (!post(actors::flush_msg{done})) {
        done(error{errc::shutting_down, "the engine has stopped"});
    }
}

void engine::core::stop(std::chrono::milliseconds drain) {
    std::lock_guard serial(stop_mutex_);
    if (stopped_) {
        return;
    }
    stopped_ = true;
    {
        std::unique_lock lock(gate_);
        accepting_ = false;
    }
    scheduler_->post(actors::drain_msg{actors::clock_type::now() + drain});
    loop_done_.wait();
    {
        std::unique_lock lock(gate_);
        open_ = false;
    }
    system_.stop();
    for (auto& e : executors_) {
        e->stop();
    }
}

// ---- engine ----

engine::engine(engine_config config) : core_(std::make_shared<core>(std::move(config))) {}

engine::~engine() {
    shutdown();
}

expected<request_handle> engine::submit(request r, std::shared_ptr<stream_sink> sink) {
    std::vector<request> rs;
    rs.push_back(std::move(r));
    auto hs = submit_all(std::move(rs), {std::move(sink)});
    if (!hs) {
        return hs.error();
    }
    return hs->front();
}

expected<std::vector<request_handle>>
engine::submit_all(std::vector<request> rs, std::vector<std::shared_ptr<stream_sink>> sinks) {
    auto ids = core_->submit(std::move(rs), std::move(sinks));
    if (!ids) {
        return ids.error();
    }
    std::vector<request_handle> out;
    const std::weak_ptr<void> weak(std::static_pointer_cast<void>(core_));
    for (auto id : *ids) {
        out.push_back(request_handle(weak, id));
    }
    return out;
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
    void on_prompt(std::span<const prompt_token_logprob> tokens) override {
        out_.prompt_logprobs.assign(tokens.begin(), tokens.end());
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

expected<generation> engine::generate(request r) {
    auto sink = std::make_shared<collecting_sink>();
    auto f = sink->result();
    if (auto h = submit(std::move(r), sink); !h) {
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

std::vector<std::int32_t> engine::tokenize(std::string_view text, bool add_bos,
                                           bool parse_special) const {
    return core_->tok.encode(text, add_bos, parse_special);
}

std::string engine::detokenize(std::span<const std::int32_t> ids) const {
    runtime::stream_decoder d(core_->tok);
    std::string out;
    for (auto id : ids) {
        out += core_->tok.valid(id) ? d.push(id) : std::string();
    }
    return out + d.flush();
}

std::string engine::token_text(std::int32_t id) const {
    return core_->tok.valid(id) ? core_->tok.piece(id) : std::string();
}

void engine::cache_snapshot(cache_query q,
                            std::function<void(expected<radixrt::cache_snapshot>)> done) {
    core_->snapshot(std::move(q), std::move(done));
}

void engine::flush_cache(std::function<void(expected<std::size_t>)> done) {
    core_->flush(std::move(done));
}

void engine::shutdown(std::chrono::milliseconds drain) {
    core_->stop(drain);
}

} // namespace radixrt
