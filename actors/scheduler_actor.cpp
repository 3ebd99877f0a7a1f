#include "actors/scheduler_actor.hpp"

#include <algorithm>

#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/redirect_error.hpp>

namespace radixrt::actors {

using namespace runtime;

namespace {

template <typename... Fn> struct overloaded : Fn... { using Fn::operator()...; };
template <typename... Fn> overloaded(Fn...) -> overloaded<Fn...>; // clang 14 needs the guide

// Runs a user callback; an exception is logged, never escapes into the loop.
template <typename Fn> bool guarded(const char* what, Fn&& fn) {
    try {
        fn();
        return true;
    } catch (...) {
        log_handler_error(std::string("scheduler: ") + what, std::current_exception());
        return false;
    }
}

} // namespace

scheduler_actor::scheduler_actor(asio::io_context& ioc, planner_config cfg, const tokenizer& tok,
                                 std::vector<step_executor*> executors, stats_board& stats,
                                 std::atomic<std::size_t>& queued)
    : actor(ioc, "scheduler"), planner_(cfg, tok), executors_(std::move(executors)), stats_(stats),
      queued_(queued), wake_(strand()) {}

scheduler_actor::~scheduler_actor() = default;

std::future<void> scheduler_actor::start() {
    auto done = std::make_shared<std::promise<void>>();
    auto f = done->get_future();
    asio::co_spawn(strand(), loop(), [this, done](std::exception_ptr e) {
        if (e) {
            log_handler_error(name(), e);
        }
        closed_ = true; // from now on every message is answered at once
        for (auto& m : std::exchange(inbox_, {})) {
            refuse(m);
        }
        done->set_value();
    });
    return f;
}

void scheduler_actor::post(scheduler_message m) {
    asio::post(strand(), [this, m = std::move(m)]() mutable { on_message(std::move(m)); });
}

void scheduler_actor::on_message(scheduler_message m) {
    if (closed_) {
        return refuse(m);
    }
    inbox_.push_back(std::move(m));
    wake_.cancel(); // a loop waiting for work resumes; a busy one sees the inbox next
}

void scheduler_actor::refuse(scheduler_message& m) {
    const radixrt::error down{errc::shutting_down, "the engine has stopped"};
    std::visit(overloaded{
                   [&](submit_msg& s) {
                       finish_event ev{finish_reason::error,
                                       {},
                                       {},
                                       make_error_code(errc::shutting_down),
                                       down.message};
                       if (auto sink = s.sink.lock()) {
                           guarded("on_finish", [&] { sink->on_finish(ev); });
                       }
                   },
                   [&](snapshot_msg& s) { guarded("snapshot callback", [&] { s.done(down); }); },
                   [&](flush_msg& f) { guarded("flush callback", [&] { f.done(down); }); },
                   [](auto&) {},
               },
               m);
}

asio::awaitable<void> scheduler_actor::loop() {
    for (;;) {
        const auto iteration_start = clock_type::now();
        take_inbox(iteration_start);
        cancel_vanished(clock_type::now());
        auto plan = planner_.plan_step(clock_type::now());
        publish();
        deliver();
        if (plan.empty()) {
            if (planner_.finished()) {
                break;
            }
            if (!planner_.idle()) {
                // The planner guarantees progress; if that ever fails, end the
                // work with an error rather than hang.
                log_handler_error(name(), std::make_exception_ptr(std::logic_error(
                                              "no step could be planned for queued work")));
                planner_.abort({errc::internal, "the scheduler could not plan a step"},
                               clock_type::now());
                publish();
                deliver();
                continue;
            }
            if (inbox_.empty()) {
                wake_.expires_at(deadline_);
                boost::system::error_code ec;
                co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
            continue;
        }
        auto results = co_await run_step(std::move(plan));
        planner_.complete_step(std::move(results), clock_type::now());
        publish();
        deliver();
        // The whole iteration of a step and its parts, added together so
        // that a reader never sees one without the others; they show from
        // the next publish on (at the top of the next iteration).
        scheduler_step_seconds_ +=
            std::chrono::duration<double>(clock_type::now() - iteration_start).count();
        compute_seconds_ += step_compute_;
        forward_seconds_ += step_forward_;
    }
}

void scheduler_actor::take_inbox(clock_type::time_point now) {
    for (auto& m : std::exchange(inbox_, {})) {
        std::visit(overloaded{
                       [&](submit_msg& s) {
                           sinks_[s.sub.id] = std::move(s.sink);
                           planner_.submit(std::move(s.sub));
                       },
                       [&](cancel_msg& c) { planner_.cancel(c.id, now); },
                       [&](drain_msg& d) {
                           planner_.drain(d.deadline);
                           deadline_ = std::min(deadline_, d.deadline);
                       },
                       [&](snapshot_msg& s) {
                           auto snap = planner_.matcher().snapshot(s.query);
                           guarded("snapshot callback", [&] { s.done(std::move(snap)); });
                       },
                       [&](flush_msg& f) {
                           const std::size_t n = planner_.flush_cache();
                           publish(); // the freed blocks show at once
                           guarded("flush callback", [&] { f.done(n); });
                       },
                   },
                   m);
    }
}

// A sink that went away (its last shared_ptr dropped) cancels its request.
void scheduler_actor::cancel_vanished(clock_type::time_point now) {
    std::vector<request_id> gone;
    for (const auto& [id, sink] : sinks_) {
        if (sink.expired()) {
            gone.push_back(id);
        }
    }
    for (auto id : gone) {
        planner_.cancel(id, now);
    }
}

void scheduler_actor::deliver() {
    for (auto events = planner_.take_events(); !events.empty(); events = planner_.take_events()) {
        std::vector<request_id> gone;
        for (auto& ev : events) {
            std::visit(
                overloaded{
                    [&](token_out& t) {
                        auto it = sinks_.find(t.id);
                        auto sink = it == sinks_.end() ? nullptr : it->second.lock();
                        if (!sink || !guarded("on_token", [&] { sink->on_token(t.event); })) {
                            gone.push_back(t.id);
                        }
                    },
                    [&](prompt_out& p) {
                        auto it = sinks_.find(p.id);
                        auto sink = it == sinks_.end() ? nullptr : it->second.lock();
                        if (!sink || !guarded("on_prompt", [&] { sink->on_prompt(p.tokens); })) {
                            gone.push_back(p.id);
                        }
                    },
                    [&](finish_out& f) {
                        auto it = sinks_.find(f.id);
                        if (it == sinks_.end()) {
                            return;
                        }
                        auto sink = it->second.lock();
                        sinks_.erase(it);
                        if (sink) {
                            guarded("on_finish", [&] { sink->on_finish(f.event); });
                        }
                    },
                },
                ev);
        }
        for (auto id : gone) {
            if (planner_.is_live(id)) {
                planner_.cancel(id, clock_type::now());
            }
        }
        if (!gone.empty()) {
            publish();
        }
    }
}

asio::awaitable<std::vector<sequence_result>>
scheduler_actor::run_step(std::vector<step_sequence> plan) {
    const auto t0 = clock_type::now();
    // Split the batch over the executors, balancing tokens.
    std::vector<step_batch> batches(executors_.size());
    std::vector<std::size_t> load(executors_.size(), 0);
    std::size_t batch_tokens = 0;
    for (auto& s : plan) {
        const auto e = std::size_t(std::min_element(load.begin(), load.end()) - load.begin());
        load[e] += s.tokens.size();
        batch_tokens += s.tokens.size();
        batches[e].seqs.push_back(std::move(s));
    }
    using op_type =
        decltype(asio::co_spawn(executors_[0]->executor(), executors_[0]->run({}), asio::deferred));
    std::vector<op_type> ops;
    std::vector<std::vector<request_id>> ids; // per op, for failures
    for (std::size_t e = 0; e < executors_.size(); ++e) {
        if (batches[e].seqs.empty()) {
            continue;
        }
        ids.emplace_back();
        for (const auto& s : batches[e].seqs) {
            ids.back().push_back(s.id);
        }
        ops.push_back(asio::co_spawn(executors_[e]->executor(),
                                     executors_[e]->run(std::move(batches[e])), asio::deferred));
    }
    auto [order, errors, results] =
        co_await asio::experimental::make_parallel_group(std::move(ops))
            .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    (void)order;
    std::vector<sequence_result> out;
    // The step lasts as long as its slowest executor.
    double compute = 0, forward = 0;
    for (std::size_t k = 0; k < results.size(); ++k) {
        if (!errors[k] && results[k].seconds > compute) {
            compute = results[k].seconds;
            forward = results[k].forward_seconds;
        }
    }
    step_compute_ = compute;
    step_forward_ = forward;
    for (std::size_t k = 0; k < results.size(); ++k) {
        if (errors[k]) {
            // The step failed on this executor: its sequences end with an error.
            log_handler_error(name(), errors[k]);
            for (auto id : ids[k]) {
                sequence_result r;
                r.id = id;
                r.failure = radixrt::error{errc::internal, "the forward step failed"};
                out.push_back(std::move(r));
            }
            continue;
        }
        for (auto& s : results[k].seqs) {
            out.push_back(std::move(s));
        }
    }
    last_step_ms_ = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
    last_batch_tokens_ = batch_tokens;
    step_seconds_.observe(last_step_ms_ / 1000.0);
    batch_tokens_.observe(double(batch_tokens));
    co_return out;
}

void scheduler_actor::publish() {
    const auto& c = planner_.counters();
    queued_.fetch_sub(c.left_queue - std::exchange(left_queue_seen_, c.left_queue));
    const auto pool = planner_.blocks().usage();
    stats_.update([&](engine_stats& s) {
        s.waiting = planner_.waiting();
        s.running = planner_.running();
        s.kv_blocks_total = pool.total;
        s.kv_blocks_free = pool.free;
        s.kv_blocks_cached = planner_.matcher().cached_blocks();
        s.kv_blocks_evictable = planner_.matcher().evictable_blocks();
        s.requests_accepted = c.submitted;
        s.requests_finished = c.finished;
        s.requests_cancelled = c.cancelled;
        s.requests_failed = c.failed;
        // requests_rejected is the engine's (refused before reaching the scheduler)
        s.prompt_tokens = c.prompt_tokens;
        s.cached_prompt_tokens = c.cached_prompt_tokens;
        s.computed_prompt_tokens = c.computed_prompt_tokens;
        s.generated_tokens = c.generated_tokens;
        s.steps = c.steps;
        s.preemptions = c.preemptions;
        s.last_step_ms = last_step_ms_;
        s.last_batch_tokens = last_batch_tokens_;
        s.scheduler_step_seconds = scheduler_step_seconds_;
        s.compute_seconds = compute_seconds_;
        s.forward_seconds = forward_seconds_;
        s.cache = planner_.matcher().counters();
        s.step_seconds = step_seconds_;
        s.batch_tokens = batch_tokens_;
    });
}

} // namespace radixrt::actors
