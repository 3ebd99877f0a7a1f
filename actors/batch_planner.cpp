#include "actors/batch_planner.hpp"

#include "actors/detail/planner_entry.hpp"

#include <algorithm>
#include <stdexcept>

namespace radixrt::actors {

using namespace runtime;

namespace {

std::size_t blocks_for(std::size_t tokens, std::size_t block_size) {
    return (tokens + block_size - 1) / block_size;
}

double ms_since(clock_type::time_point from, clock_type::time_point t) {
    return t == clock_type::time_point{}
               ? 0.0
               : std::chrono::duration<double, std::milli>(t - from).count();
}

} // namespace

batch_planner::batch_planner(planner_config cfg, const tokenizer& tok)
    : cfg_(cfg), tok_(tok), matcher_(cfg.block_size, cfg.cache_enabled),
      kv_(cfg.kv_blocks, matcher_) {}

batch_planner::~batch_planner() = default;

void batch_planner::require_between_steps(const char* what) const {
    if (in_step()) {
        throw std::logic_error(std::string("batch_planner: ") + what +
                               " while a step is in flight");
    }
}

void batch_planner::submit(submission s) {
    require_between_steps("submit");
    auto e = std::make_unique<entry>(std::move(s), tok_);
    e->arrival = arrivals_++;
    ++counters_.submitted;
    matcher_.track(e->id, e->params.cache_namespace, e->tokens);
    by_id_[e->id] = e.get();
    waiting_.push_back(std::move(e));
}

void batch_planner::cancel(request_id id, clock_type::time_point now) {
    require_between_steps("cancel");
    if (auto it = by_id_.find(id); it != by_id_.end()) {
        finish(*it->second, finish_reason::cancelled, now);
        erase_finished();
    }
}

void batch_planner::drain(clock_type::time_point deadline) {
    draining_ = true;
    deadline_ = std::min(deadline_, deadline);
}

void batch_planner::abort(radixrt::error e, clock_type::time_point now) {
    require_between_steps("abort");
    end_all(finish_reason::error, now, std::move(e));
}

std::size_t batch_planner::flush_cache() {
    require_between_steps("flush_cache");
    return kv_.flush();
}

std::vector<planner_event> batch_planner::take_events() {
    return std::exchange(events_, {});
}

std::vector<step_sequence> batch_planner::plan_step(clock_type::time_point now) {
    require_between_steps("plan_step");
    if (draining_ && now >= deadline_) {
        end_all(finish_reason::error, now,
                radixrt::error{errc::shutting_down, "the server is shutting down"});
        return {};
    }
    admit(now);
    return allocate_step();
}

// ---- admission ----

void batch_planner::order_waiting() {
    const bool lpm = cfg_.policy == admission_policy::lpm && waiting_.size() > 1 &&
                     waiting_.size() <= cfg_.lpm_queue_limit;
    std::map<const entry*, std::size_t> cached;
    if (lpm) {
        for (const auto& w : waiting_) {
            cached[w.get()] = matcher_.peek(w->params.cache_namespace, w->tokens);
        }
    }
    std::stable_sort(waiting_.begin(), waiting_.end(), [&](const auto& a, const auto& b) {
        if (a->params.priority != b->params.priority) {
            return a->params.priority > b->params.priority;
        }
        if (lpm && cached[a.get()] != cached[b.get()]) {
            return cached[a.get()] > cached[b.get()];
        }
        return a->arrival < b->arrival;
    });
}

// In-batch sharing: if a running request is still computing a prefix that w
// shares, w waits for it to land in the cache instead of computing it twice.
bool batch_planner::waits_for_sharer(const entry& w,
                                     const std::vector<const entry*>& prefilling) const {
    for (const entry* r : prefilling) {
        if (r->params.cache_namespace != w.params.cache_namespace) {
            continue;
        }
        const std::size_t n = std::min(r->prompt_len, w.tokens.size() - 1);
        const auto common = std::size_t(
            std::mismatch(w.tokens.begin(), w.tokens.begin() + std::ptrdiff_t(n), r->tokens.begin())
                .first -
            w.tokens.begin());
        if (common / cfg_.block_size * cfg_.block_size > r->computed) {
            return true;
        }
    }
    return false;
}

void batch_planner::admit(clock_type::time_point now) {
    if (waiting_.empty() || running_.size() >= cfg_.max_running) {
        return;
    }
    std::size_t budget = cfg_.max_batch_tokens; // tokens not yet promised to running requests
    std::vector<const entry*> prefilling;
    for (const auto& r : running_) {
        budget -= std::min(budget, std::min(r->remaining(), cfg_.max_prefill_chunk));
        if (cfg_.cache_enabled && r->computed < r->prompt_len) {
            prefilling.push_back(r.get());
        }
    }
    order_waiting();
    // Headroom: leave a block per running sequence for its coming decodes.
    std::size_t room = kv_.usage().free + matcher_.evictable_blocks();
    room -= std::min(room, running_.size());
    for (std::size_t i = 0; i < waiting_.size();) {
        if (running_.size() >= cfg_.max_running || budget == 0) {
            break;
        }
        entry& w = *waiting_[i];
        // A prompt to score is computed whole: the cache keeps no logits.
        const bool scoring = w.params.prompt_logprobs && !w.scored;
        if (cfg_.cache_enabled && !scoring && waits_for_sharer(w, prefilling)) {
            ++i;
            continue;
        }
        // Leave at least one token to compute: its logits give the next token.
        auto got = matcher_.acquire(w.params.cache_namespace,
                                    std::span(w.tokens).first(scoring ? 0 : w.tokens.size() - 1));
        const std::size_t chunk =
            std::min({w.tokens.size() - got.tokens, cfg_.max_prefill_chunk, budget});
        const std::size_t need =
            blocks_for(got.tokens + chunk, cfg_.block_size) - got.blocks.size();
        if (need > room) {
            matcher_.release(got.node);
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
            w.scheduled = now;
            ++counters_.left_queue;
            counters_.prompt_tokens += w.prompt_len;
            counters_.cached_prompt_tokens += w.cached_tokens;
        }
        if (w.computed < w.prompt_len) {
            prefilling.push_back(&w);
        }
        running_.push_back(std::move(waiting_[i]));
        waiting_.erase(waiting_.begin() + std::ptrdiff_t(i));
    }
}

// ---- the step ----

std::vector<step_sequence> batch_planner::allocate_step() {
    std::stable_sort(running_.begin(), running_.end(), [](const auto& a, const auto& b) {
        return a->params.priority > b->params.priority;
    });
    std::vector<step_sequence> plan;
    std::size_t budget = cfg_.max_batch_tokens;
    for (std::size_t i = 0; i < running_.size(); ++i) {
        entry& r = *running_[i];
        if (r.preempted || budget == 0) {
            continue;
        }
        const std::size_t chunk = std::min({r.remaining(), cfg_.max_prefill_chunk, budget});
        const std::size_t need = blocks_for(r.computed + chunk, cfg_.block_size);
        bool placed = true;
        while (r.blocks.size() < need) {
            if (auto got = kv_.allocate(need - r.blocks.size())) {
                r.blocks.insert(r.blocks.end(), got->begin(), got->end());
                break;
            }
            // Out of KV: preempt a request planned after this one: the lowest
            // priority, then the fewest generated tokens, then the newest.
            entry* victim = nullptr;
            for (std::size_t j = i + 1; j < running_.size(); ++j) {
                entry* c = running_[j].get();
                if (c->preempted) {
                    continue;
                }
                if (victim == nullptr ||
                    std::tuple(c->params.priority, c->generated, ~c->arrival) <
                        std::tuple(victim->params.priority, victim->generated, ~victim->arrival)) {
                    victim = c;
                }
            }
            preempt(victim != nullptr ? *victim : r);
            if (victim == nullptr) {
                placed = false;
                break;
            }
        }
        if (!placed) {
            continue;
        }
        step_sequence s;
        s.id = r.id;
        s.tokens.assign(r.tokens.begin() + std::ptrdiff_t(r.computed),
                        r.tokens.begin() + std::ptrdiff_t(r.computed + chunk));
        s.n_past = r.computed;
        s.block_table = r.blocks;
        if (chunk == r.remaining()) {
            s.sampler = std::move(r.smp);
        }
        if (r.params.prompt_logprobs && !r.scored) {
            for (std::size_t p = r.computed; p < r.computed + chunk; ++p) {
                s.score_targets.push_back(p + 1 < r.prompt_len ? r.tokens[p + 1] : -1);
            }
            s.score_top = r.params.top_logprobs;
        }
        plan.push_back(std::move(s));
        in_flight_.emplace_back(r.id, chunk);
        budget -= chunk;
    }
    // Preempted requests go back to the waiting queue (their arrival order
    // puts them ahead of newer requests of the same priority).
    for (auto& r : running_) {
        if (r->preempted) {
            r->preempted = false;
            waiting_.push_back(std::move(r));
        }
    }
    std::erase_if(running_, [](const auto& r) { return r == nullptr; });
    return plan;
}

void batch_planner::preempt(entry& r) {
    kv_.release(r.own_blocks());
    matcher_.release(r.node);
    r.blocks.clear();
    r.shared = 0;
    r.computed = 0;
    r.node = node_id{};
    if (!r.scored) {
        r.scores.clear(); // recomputed from the start
    }
    r.preempted = true;
    ++counters_.preemptions;
}

void batch_planner::complete_step(std::vector<sequence_result> results,
                                  clock_type::time_point now) {
    if (!in_step()) {
        throw std::logic_error("batch_planner: complete_step without a step in flight");
    }
    std::map<request_id, sequence_result*> by_req;
    for (auto& res : results) {
        by_req[res.id] = &res;
    }
    std::vector<entry*> planned;
    for (const auto& [id, chunk] : std::exchange(in_flight_, {})) {
        entry& r = *by_id_.at(id); // nothing ends a request while its step is in flight
        planned.push_back(&r);
        auto it = by_req.find(id);
        sequence_result* res = it == by_req.end() ? nullptr : it->second;
        if (res != nullptr && res->sampler) {
            r.smp = std::move(res->sampler);
        }
        if (res == nullptr || res->failure) {
            r.pending = {finish_reason::error,
                         res != nullptr ? *res->failure
                                        : radixrt::error{errc::internal, "the step lost a result"}};
            continue;
        }
        if (r.computed < r.prompt_len) {
            counters_.computed_prompt_tokens += std::min(chunk, r.prompt_len - r.computed);
        }
        r.computed += chunk;
        if (r.params.prompt_logprobs && !r.scored) {
            r.scores.insert(r.scores.end(), std::make_move_iterator(res->scores.begin()),
                            std::make_move_iterator(res->scores.end()));
            if (r.computed >= r.prompt_len) { // before the first token's event
                r.scored = true;
                events_.push_back(prompt_out{r.id, std::exchange(r.scores, {})});
            }
        }
        if (res->token) {
            on_token(r, std::move(*res->token), now);
        }
    }
    // Cache every new full block, also of requests that just finished (so a
    // prompt is reusable as soon as its first request is done).
    for (entry* r : planned) {
        if (!r->pending || r->pending->reason != finish_reason::error) {
            cache_full_blocks(*r);
        }
    }
    for (entry* r : planned) {
        if (r->pending) {
            auto p = *std::exchange(r->pending, std::nullopt);
            finish(*r, p.reason, now, std::move(p.failure));
        }
    }
    erase_finished();
    ++counters_.steps;
}

void batch_planner::on_token(entry& r, sampled t, clock_type::time_point now) {
    ++r.generated;
    ++counters_.generated_tokens;
    r.tokens.push_back(t.id);
    if (r.generated == 1) {
        r.first_token = now;
    }
    const auto& p = r.params;
    if ((!p.ignore_eos && tok_.is_eog(t.id)) ||
        std::find(p.stop_ids.begin(), p.stop_ids.end(), t.id) != p.stop_ids.end()) {
        r.pending = {finish_reason::stop, std::nullopt}; // the stop token is not emitted
        return;
    }
    auto st = r.stop.push(t.id);
    token_event ev{t.id, std::move(st.text), r.generated - 1, p.logprobs ? t.logprob : 0.0f,
                   std::move(t.top)};
    events_.push_back(token_out{r.id, std::move(ev)});
    // A logit processor's done (a grammar that is complete and cannot
    // continue) ends the request after this token, before max_tokens can
    // call a finished output `length`.
    if (st.stopped || t.done) {
        r.pending = {finish_reason::stop, std::nullopt};
    } else if (r.generated >= p.max_tokens || r.tokens.size() >= cfg_.context_length) {
        r.pending = {finish_reason::length, std::nullopt};
    }
}

void batch_planner::cache_full_blocks(entry& r) {
    const std::size_t full = r.computed / cfg_.block_size;
    if (full <= r.shared) {
        return;
    }
    auto got =
        matcher_.cache(r.params.cache_namespace, std::span(r.tokens).first(full * cfg_.block_size),
                       std::span(r.blocks).first(full), r.shared, r.node);
    std::copy(got.blocks.begin(), got.blocks.end(), r.blocks.begin());
    r.shared = got.blocks.size();
    r.node = got.node;
    kv_.release(got.duplicates);
}

// ---- ending requests ----

void batch_planner::finish(entry& r, finish_reason reason, clock_type::time_point now,
                           std::optional<radixrt::error> failure) {
    if (r.ended) {
        return;
    }
    r.ended = true;
    kv_.release(r.own_blocks());
    matcher_.release(r.node);
    r.blocks.clear();
    r.shared = 0;
    r.node = node_id{};
    if (!r.admitted_once) {
        ++counters_.left_queue;
    }
    matcher_.untrack(r.id);
    by_id_.erase(r.id);
    finish_event ev;
    ev.reason = reason;
    ev.usage = {r.prompt_len,
                r.cached_tokens,
                r.generated,
                ms_since(r.submitted, r.scheduled),
                ms_since(r.submitted, r.first_token),
                ms_since(r.submitted, now)};
    if (reason == finish_reason::stop || reason == finish_reason::length) {
        ev.text_tail = r.stop.flush();
    }
    if (failure) {
        ev.error = make_error_code(failure->code);
        ev.message = std::move(failure->message);
    }
    switch (reason) {
    case finish_reason::cancelled:
        ++counters_.cancelled;
        break;
    case finish_reason::error:
        ++counters_.failed;
        break;
    default:
        ++counters_.finished;
        break;
    }
    events_.push_back(finish_out{r.id, std::move(ev)});
}

void batch_planner::end_all(finish_reason reason, clock_type::time_point now,
                            std::optional<radixrt::error> failure) {
    for (auto* list : {&running_, &waiting_}) {
        for (auto& r : *list) {
            finish(*r, reason, now, failure);
        }
    }
    erase_finished();
}

void batch_planner::erase_finished() {
    std::erase_if(running_, [](const auto& r) { return r->ended; });
    std::erase_if(waiting_, [](const auto& r) { return r->ended; });
}

} // namespace radixrt::actors
