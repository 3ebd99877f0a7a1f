#include "actors/scheduler_actor.hpp"

#include <algorithm>

#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/redirect_error.hpp>

namespace radixrt::actors {

using namespace runtime;

// A request inside the scheduler. tokens = prompt + generated; the KV of
// tokens[0, computed) is in blocks, whose first `shared` are the tree's
// (locked through node) and the rest the request's own.
struct scheduler_actor::live {
    submission sub;
    std::vector<token_id> tokens;
    std::size_t prompt_len = 0;
    std::size_t computed = 0;
    std::vector<block_id> blocks;
    std::size_t shared = 0;
    node_id node{};
    std::unique_ptr<sampler> smp;
    stop_checker stop;
    std::size_t generated = 0;
    std::size_t cached_tokens = 0;
    bool admitted_once = false;
    bool cancel_requested = false;
    bool preempted = false; // released this step; goes back to the waiting queue
    bool done = false;
    finish_reason reason = finish_reason::stop;
    clock_type::time_point scheduled{}, first_token{};

    live(submission s, const tokenizer& tok)
        : sub(std::move(s)), tokens(*sub.prompt), prompt_len(tokens.size()),
          smp(std::make_unique<sampler>(
              sampling_params{sub.params.sampling.temperature, sub.params.sampling.top_k,
                              sub.params.sampling.top_p, sub.params.sampling.min_p,
                              sub.params.sampling.repetition_penalty,
                              sub.params.sampling.presence_penalty,
                              sub.params.sampling.frequency_penalty, sub.params.sampling.logit_bias,
                              sub.params.sampling.seed},
              *sub.prompt)),
          stop(tok, sub.params.stop) {}

    std::shared_ptr<const std::vector<token_id>> snapshot(std::size_t n) const {
        return std::make_shared<const std::vector<token_id>>(tokens.begin(),
                                                             tokens.begin() + std::ptrdiff_t(n));
    }
    std::vector<block_id> own_blocks() const {
        return {blocks.begin() + std::ptrdiff_t(shared), blocks.end()};
    }
};

scheduler_actor::scheduler_actor(asio::io_context& ioc, scheduler_config cfg,
                                 std::shared_ptr<const model> m, const tokenizer& tok,
                                 prefix_matcher_actor& matcher, kv_block_manager_actor& kv,
                                 std::vector<attention_executor*> executors, stats_board& stats,
                                 std::atomic<std::size_t>& queued)
    : actor(ioc, "scheduler"), cfg_(cfg), model_(std::move(m)), tok_(tok), matcher_(matcher),
      kv_(kv), executors_(std::move(executors)), stats_(stats), queued_(queued), wake_(strand()) {}

scheduler_actor::~scheduler_actor() = default;

std::future<void> scheduler_actor::start() {
    auto done = std::make_shared<std::promise<void>>();
    auto f = done->get_future();
    tell(*this, loop(done));
    return f;
}

void scheduler_actor::wake() {
    ++events_; // seen by a loop that is not waiting yet
    wake_.cancel();
}

awaitable<void> scheduler_actor::submit(submission s) {
    auto r = std::make_unique<live>(std::move(s), tok_);
    by_id_[r->sub.id] = r.get();
    tell(matcher_,
         matcher_.register_request(r->sub.id, r->sub.params.cache_namespace, r->sub.prompt));
    waiting_.push_back(std::move(r));
    wake();
    co_return;
}

awaitable<void> scheduler_actor::cancel(request_id id) {
    if (auto it = by_id_.find(id); it != by_id_.end()) {
        it->second->cancel_requested = true;
        wake();
    }
    co_return;
}

awaitable<void> scheduler_actor::drain(clock_type::time_point deadline) {
    draining_ = true;
    deadline_ = deadline;
    wake();
    co_return;
}

awaitable<void> scheduler_actor::loop(std::shared_ptr<std::promise<void>> done) {
    try {
        for (;;) {
            const std::uint64_t seen = events_;
            co_await reap();
            if (draining_ && waiting_.empty() && running_.empty()) {
                break;
            }
            co_await admit();
            if (running_.empty()) {
                co_await publish();
                if (events_ != seen) {
                    continue; // something arrived while this iteration ran
                }
                // Idle: sleep until woken or the drain deadline. Work that is
                // queued but not admissible now is retried shortly.
                auto until = draining_ ? deadline_ : clock_type::time_point::max();
                if (!waiting_.empty()) {
                    until = std::min(until, clock_type::now() + std::chrono::milliseconds(20));
                }
                wake_.expires_at(until);
                boost::system::error_code ec;
                co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                continue;
            }
            auto plan = co_await allocate_step();
            if (!plan.empty()) {
                co_await run_step(std::move(plan));
            }
        }
    } catch (...) {
        log_handler_error(name(), std::current_exception());
    }
    done->set_value();
}

awaitable<void> scheduler_actor::reap() {
    // Cancelled requests, vanished clients and, past the drain deadline, everything.
    const bool expired = draining_ && clock_type::now() >= deadline_;
    for (auto& r : running_) {
        if (r->cancel_requested || r->sub.sink.expired()) {
            co_await finish(*r, finish_reason::cancelled);
        } else if (expired) {
            co_await finish(*r, finish_reason::error, errc::shutting_down,
                            "the server is shutting down");
        }
    }
    for (auto& r : waiting_) {
        if (r->cancel_requested || r->sub.sink.expired()) {
            co_await finish(*r, finish_reason::cancelled);
        } else if (expired) {
            co_await finish(*r, finish_reason::error, errc::shutting_down,
                            "the server is shutting down");
        }
    }
    std::erase_if(running_, [](const auto& r) { return r->done; });
    std::erase_if(waiting_, [](const auto& r) { return r->done; });
}

awaitable<void> scheduler_actor::admit() {
    if (waiting_.empty() || running_.size() >= cfg_.max_running) {
        co_return;
    }
    // Tokens already promised to running requests this step.
    std::size_t budget = cfg_.max_batch_tokens;
    for (const auto& r : running_) {
        const std::size_t want = std::min(r->tokens.size() - r->computed, cfg_.max_prefill_chunk);
        budget -= std::min(budget, want);
    }
    // lpm: the longest cached prefix first (stable, so fcfs among equals).
    if (cfg_.lpm && waiting_.size() > 1 && waiting_.size() <= cfg_.lpm_max_queue) {
        std::map<std::string, std::vector<live*>> by_ns;
        for (auto& r : waiting_) {
            by_ns[r->sub.params.cache_namespace].push_back(r.get());
        }
        std::map<live*, std::size_t> cached;
        for (auto& [ns, rs] : by_ns) {
            std::vector<token_vec> seqs;
            for (auto* r : rs) {
                seqs.push_back(r->sub.prompt);
            }
            const auto lens = co_await call(matcher_, matcher_.peek(ns, std::move(seqs)));
            for (std::size_t i = 0; i < rs.size(); ++i) {
                cached[rs[i]] = lens[i];
            }
        }
        std::stable_sort(waiting_.begin(), waiting_.end(), [&](const auto& a, const auto& b) {
            return cached[a.get()] > cached[b.get()];
        });
    }
    // Headroom: leave a block per running sequence for its coming decodes.
    const auto usage = co_await call(kv_, kv_.usage());
    const std::size_t evictable = (co_await call(matcher_, matcher_.usage())).second;
    std::size_t room = usage.free + evictable;
    room -= std::min(room, running_.size());

    for (auto it = waiting_.begin(); it != waiting_.end();) {
        if (running_.size() >= cfg_.max_running || budget == 0) {
            break;
        }
        live& w = **it;
        // In-batch sharing: if a running request is still computing a prefix
        // this one shares, wait for it to land in the cache instead of
        // computing it a second time.
        bool wait_for_sharer = false;
        for (const auto& r : running_) {
            if (r->sub.params.cache_namespace != w.sub.params.cache_namespace) {
                continue;
            }
            const std::size_t n = std::min(r->prompt_len, w.tokens.size() - 1);
            const auto common =
                std::size_t(std::mismatch(w.tokens.begin(), w.tokens.begin() + std::ptrdiff_t(n),
                                          r->tokens.begin())
                                .first -
                            w.tokens.begin());
            if (common / cfg_.block_size * cfg_.block_size > r->computed) {
                wait_for_sharer = true;
                break;
            }
        }
        if (wait_for_sharer) {
            ++it;
            continue;
        }
        auto got = co_await call(matcher_, matcher_.acquire(w.sub.params.cache_namespace,
                                                            w.snapshot(w.tokens.size()),
                                                            w.tokens.size() - 1));
        const std::size_t chunk =
            std::min({w.tokens.size() - got.tokens, cfg_.max_prefill_chunk, budget});
        const std::size_t need =
            (got.tokens + chunk + cfg_.block_size - 1) / cfg_.block_size - got.blocks.size();
        if (need > room) {
            co_await call(matcher_, matcher_.unlock(got.node));
            break; // not now: keep the order
        }
        room -= need;
        budget -= chunk;
        w.computed = got.tokens;
        w.blocks = std::move(got.blocks);
        w.shared = w.blocks.size();
        w.node = got.node;
        if (!w.admitted_once) {
            w.admitted_once = true;
            w.cached_tokens = std::min(got.tokens, w.prompt_len);
            w.scheduled = clock_type::now();
            queued_.fetch_sub(1);
            counters_.prompt_tokens += w.prompt_len;
            counters_.cached_prompt_tokens += w.cached_tokens;
        }
        running_.push_back(std::move(*it));
        it = waiting_.erase(it);
    }
}

awaitable<std::vector<scheduler_actor::planned>> scheduler_actor::allocate_step() {
    std::vector<planned> plan;
    std::size_t budget = cfg_.max_batch_tokens;
    for (std::size_t i = 0; i < running_.size(); ++i) {
        live& r = *running_[i];
        if (r.preempted || budget == 0) {
            continue;
        }
        const std::size_t chunk =
            std::min({r.tokens.size() - r.computed, cfg_.max_prefill_chunk, budget});
        const std::size_t need = (r.computed + chunk + cfg_.block_size - 1) / cfg_.block_size;
        bool placed = true;
        while (r.blocks.size() < need) {
            auto got = co_await call(kv_, kv_.allocate(need - r.blocks.size()));
            if (got) {
                r.blocks.insert(r.blocks.end(), got->begin(), got->end());
                break;
            }
            // Out of KV: preempt the unplanned request with the fewest
            // generated tokens (the newest on ties); failing that, this one.
            live* victim = nullptr;
            for (std::size_t j = i + 1; j < running_.size(); ++j) {
                live* c = running_[j].get();
                if (!c->preempted && (victim == nullptr || c->generated <= victim->generated)) {
                    victim = c;
                }
            }
            co_await preempt(victim != nullptr ? *victim : r);
            if (victim == nullptr) {
                placed = false;
                break;
            }
        }
        if (placed) {
            plan.push_back({&r, chunk});
            budget -= chunk;
        }
    }
    // Preempted requests go back to the front of the queue, oldest first.
    for (auto it = running_.rbegin(); it != running_.rend(); ++it) {
        if ((*it)->preempted) {
            (*it)->preempted = false;
            waiting_.push_front(std::move(*it));
        }
    }
    std::erase_if(running_, [](const auto& r) { return r == nullptr; });
    co_return plan;
}

awaitable<void> scheduler_actor::preempt(live& r) {
    co_await call(kv_, kv_.release(r.own_blocks()));
    co_await call(matcher_, matcher_.unlock(r.node));
    r.blocks.clear();
    r.shared = 0;
    r.computed = 0;
    r.node = node_id{};
    r.preempted = true;
    ++counters_.preemptions;
}

awaitable<void> scheduler_actor::run_step(std::vector<planned> plan) {
    const auto t0 = clock_type::now();
    // Split the batch over the executors, balancing tokens.
    std::vector<step_batch> batches(executors_.size());
    std::vector<std::size_t> load(executors_.size(), 0);
    std::size_t batch_tokens = 0;
    std::map<request_id, std::size_t> exec_of;
    for (auto& p : plan) {
        const std::size_t e =
            std::size_t(std::min_element(load.begin(), load.end()) - load.begin());
        exec_of[p.r->sub.id] = e;
        load[e] += p.chunk;
        batch_tokens += p.chunk;
        step_sequence s;
        s.id = p.r->sub.id;
        s.tokens.assign(p.r->tokens.begin() + std::ptrdiff_t(p.r->computed),
                        p.r->tokens.begin() + std::ptrdiff_t(p.r->computed + p.chunk));
        s.n_past = p.r->computed;
        for (auto b : p.r->blocks) {
            s.block_table.push_back(to_int(b));
        }
        if (p.r->computed + p.chunk == p.r->tokens.size()) {
            s.sampler = std::move(p.r->smp);
        }
        batches[e].seqs.push_back(std::move(s));
    }
    using op_type = decltype(asio::co_spawn(executors_[0]->executor(),
                                            executors_[0]->run({}, nullptr), asio::deferred));
    std::vector<op_type> ops;
    std::vector<std::size_t> which;
    for (std::size_t e = 0; e < executors_.size(); ++e) {
        if (!batches[e].seqs.empty()) {
            ops.push_back(asio::co_spawn(executors_[e]->executor(),
                                         executors_[e]->run(std::move(batches[e]), &kv_.storage()),
                                         asio::deferred));
            which.push_back(e);
        }
    }
    auto [order, errors, results] =
        co_await asio::experimental::make_parallel_group(std::move(ops))
            .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    (void)order;

    std::map<request_id, planned*> by_req;
    for (auto& p : plan) {
        by_req[p.r->sub.id] = &p;
        if (p.r->computed < p.r->prompt_len) {
            counters_.computed_prompt_tokens += std::min(p.chunk, p.r->prompt_len - p.r->computed);
        }
        p.r->computed += p.chunk;
    }
    for (std::size_t k = 0; k < results.size(); ++k) {
        if (errors[k]) {
            // The step failed on this executor: its requests end with an error.
            log_handler_error(executors_[which[k]]->name(), errors[k]);
            for (auto& p : plan) {
                if (exec_of[p.r->sub.id] == which[k]) {
                    p.r->done = true;
                    p.r->reason = finish_reason::error;
                }
            }
            continue;
        }
        for (auto& s : results[k].seqs) {
            planned* p = by_req.at(s.id);
            if (s.sampled) {
                p->r->smp = std::move(s.sampler);
                on_token(*p->r, s.token);
            }
        }
    }
    const double step_ms =
        std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
    // Cache every new full block, also of requests that just finished (so a
    // prompt is reusable as soon as its first request is done).
    for (auto& p : plan) {
        if (!p.r->done || p.r->reason != finish_reason::error) {
            co_await cache_full_blocks(*p.r);
        }
    }
    for (auto& r : running_) {
        if (r->done) {
            r->done = false; // finish() sets it again
            if (r->reason == finish_reason::error) {
                co_await finish(*r, finish_reason::error, errc::internal,
                                "the forward step failed");
            } else {
                co_await finish(*r, r->reason);
            }
        }
    }
    std::erase_if(running_, [](const auto& r) { return r->done; });
    ++counters_.steps;
    counters_.last_step_ms = step_ms;
    counters_.last_batch_tokens = batch_tokens;
    counters_.step_seconds.observe(step_ms / 1000.0);
    counters_.batch_tokens.observe(double(batch_tokens));
    co_await publish();
}

void scheduler_actor::on_token(live& r, sampled t) {
    ++r.generated;
    ++counters_.generated_tokens;
    r.tokens.push_back(t.id);
    if (r.generated == 1) {
        r.first_token = clock_type::now();
    }
    const auto& p = r.sub.params;
    auto end = [&](finish_reason why) {
        r.done = true;
        r.reason = why;
    };
    if ((!p.ignore_eos && tok_.is_eog(t.id)) ||
        std::find(p.stop_ids.begin(), p.stop_ids.end(), t.id) != p.stop_ids.end()) {
        end(finish_reason::stop); // the stop token itself is not emitted
        return;
    }
    const auto st = r.stop.push(t.id);
    auto sink = r.sub.sink.lock();
    if (!sink) {
        end(finish_reason::cancelled);
        return;
    }
    sink->on_token({t.id, st.text, r.generated - 1, p.logprobs ? t.logprob : 0.0f});
    if (st.stopped) {
        end(finish_reason::stop);
    } else if (r.generated >= p.max_tokens || r.tokens.size() >= model_->config().context_length) {
        end(finish_reason::length);
    }
}

awaitable<void> scheduler_actor::cache_full_blocks(live& r) {
    const std::size_t full = r.computed / cfg_.block_size;
    if (full <= r.shared) {
        co_return;
    }
    auto got = co_await call(
        matcher_, matcher_.cache(r.sub.params.cache_namespace, r.snapshot(full * cfg_.block_size),
                                 {r.blocks.begin(), r.blocks.begin() + std::ptrdiff_t(full)},
                                 r.shared, r.node));
    std::copy(got.blocks.begin(), got.blocks.end(), r.blocks.begin());
    r.shared = got.blocks.size();
    r.node = got.node;
    if (!got.duplicates.empty()) {
        co_await call(kv_, kv_.release(std::move(got.duplicates)));
    }
}

awaitable<void> scheduler_actor::finish(live& r, finish_reason reason, std::error_code error,
                                        std::string message) {
    if (r.done) {
        co_return;
    }
    r.done = true;
    if (!r.blocks.empty() || to_int(r.node) != 0) {
        co_await call(kv_, kv_.release(r.own_blocks()));
        co_await call(matcher_, matcher_.unlock(r.node));
        r.blocks.clear();
        r.node = node_id{};
    }
    if (!r.admitted_once) {
        queued_.fetch_sub(1);
    }
    tell(matcher_, matcher_.unregister_request(r.sub.id));
    by_id_.erase(r.sub.id);
    const auto now = clock_type::now();
    auto ms = [&](clock_type::time_point t) {
        return t == clock_type::time_point{}
                   ? 0.0
                   : std::chrono::duration<double, std::milli>(t - r.sub.submitted).count();
    };
    finish_event ev;
    ev.reason = reason;
    ev.usage = {r.prompt_len,    r.cached_tokens,   r.generated,
                ms(r.scheduled), ms(r.first_token), ms(now)};
    ev.text_tail = reason == finish_reason::stop || reason == finish_reason::length ? r.stop.flush()
                                                                                    : std::string();
    ev.error = error;
    ev.message = std::move(message);
    switch (reason) {
    case finish_reason::cancelled:
        ++counters_.requests_cancelled;
        break;
    case finish_reason::error:
        ++counters_.requests_failed;
        break;
    default:
        ++counters_.requests_finished;
        break;
    }
    co_await publish(); // so that a caller woken by on_finish sees its request counted
    if (auto sink = r.sub.sink.lock()) {
        sink->on_finish(ev);
    }
}

awaitable<void> scheduler_actor::publish() {
    const auto pool = co_await call(kv_, kv_.usage());
    const auto cache = co_await call(matcher_, matcher_.usage());
    auto live_count = [](const auto& list) {
        return std::size_t(
            std::count_if(list.begin(), list.end(), [](const auto& r) { return r && !r->done; }));
    };
    counters_.waiting = live_count(waiting_);
    counters_.running = live_count(running_);
    counters_.kv_blocks_total = pool.total;
    counters_.kv_blocks_free = pool.free;
    counters_.kv_blocks_cached = cache.first;
    counters_.kv_blocks_evictable = cache.second;
    stats_.update([&](engine_stats& s) {
        const auto rejected = s.requests_rejected; // counted by the engine
        s = counters_;
        s.requests_rejected = rejected;
    });
}

} // namespace radixrt::actors
