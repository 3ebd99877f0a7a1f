#pragma once
// The scheduler's decisions, as a plain synchronous class: no Asio, no
// co_await, no I/O, time passed in. It owns the prefix matcher (radix tree)
// and the KV block manager (block pool) and decides, between two steps:
//   - admission: priority first, then the longest cached prefix (lpm) or
//     arrival order (fcfs); a request that shares a prefix with one still
//     prefilling waits for it to land in the cache (in-batch sharing);
//   - the step: a token budget, chunked prefill, KV blocks for every
//     planned token, preemption by recomputation when the pool runs out
//     (lower priority first, then fewest generated tokens, newest first);
//   - after the step: tokens, stop conditions, caching every new full block,
//     and finishing requests (their blocks return, their locks are released).
// What it decides comes out as a step plan (for the executors) and as
// events (for the requests' sinks). The scheduler actor drives it; tests
// drive it directly.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "actors/executor_messages.hpp"
#include "actors/kv_block_manager.hpp"
#include "actors/prefix_matcher.hpp"
#include "actors/scheduler_messages.hpp"
#include "runtime/stop_checker.hpp"
#include "runtime/tokenizer.hpp"

namespace radixrt::actors {

enum class admission_policy { lpm, fcfs };

/// Beyond this many waiting requests lpm ordering costs more than it saves
/// (a cache look-up per waiting request per step): admission falls back to fcfs.
inline constexpr std::size_t default_lpm_queue_limit = 128;

struct planner_config {
    std::size_t block_size = 16;
    std::size_t kv_blocks = 0;
    std::size_t context_length = 0;
    std::size_t max_batch_tokens = 2048;
    std::size_t max_running = 64;
    std::size_t max_prefill_chunk = 128;
    admission_policy policy = admission_policy::lpm;
    std::size_t lpm_queue_limit = default_lpm_queue_limit;
    bool cache_enabled = true;
};

struct token_out {
    runtime::request_id id{};
    token_event event;
};

struct finish_out {
    runtime::request_id id{};
    finish_event event;
};

struct prompt_out {
    runtime::request_id id{};
    std::vector<prompt_token_logprob> tokens;
};

using planner_event = std::variant<token_out, finish_out, prompt_out>;

struct planner_counters {
    std::uint64_t prompt_tokens = 0, cached_prompt_tokens = 0, computed_prompt_tokens = 0;
    std::uint64_t generated_tokens = 0, steps = 0, preemptions = 0;
    std::uint64_t submitted = 0; // requests taken in; each ends once as one of the next three
    std::uint64_t finished = 0, cancelled = 0, failed = 0;
    std::uint64_t left_queue = 0; // requests that left the waiting queue for good or first time
};

class batch_planner {
  public:
    batch_planner(planner_config cfg, const runtime::tokenizer& tok);
    ~batch_planner();
    batch_planner(const batch_planner&) = delete;
    batch_planner& operator=(const batch_planner&) = delete;

    // ---- inputs; none while a step is in flight (std::logic_error) ----
    void submit(submission s);
    /// Ends the request as cancelled wherever it is; unknown ids are ignored.
    void cancel(runtime::request_id id, clock_type::time_point now);
    /// From now on finished() once nothing is left; at the deadline (seen
    /// by the next plan_step) everything left ends with errc::shutting_down.
    void drain(clock_type::time_point deadline);
    /// Ends every live request with an error (a last resort of the scheduler).
    void abort(radixrt::error e, clock_type::time_point now);
    /// Evicts every unlocked cached prefix; the number of blocks freed.
    std::size_t flush_cache();

    /// Admits what fits and plans the next step. Empty only when nothing is
    /// left to compute. Until complete_step, the plan's requests are in flight.
    std::vector<step_sequence> plan_step(clock_type::time_point now);
    /// The executors' results for every sequence of the last plan.
    void complete_step(std::vector<sequence_result> results, clock_type::time_point now);

    /// Token and finish events since the last call, in order.
    std::vector<planner_event> take_events();

    // ---- queries ----
    bool in_step() const { return !in_flight_.empty(); }
    bool finished() const { return draining_ && idle(); }
    bool idle() const { return waiting_.empty() && running_.empty(); }
    std::size_t waiting() const { return waiting_.size(); }
    std::size_t running() const { return running_.size(); }
    bool is_live(runtime::request_id id) const { return by_id_.contains(id); }
    const planner_counters& counters() const { return counters_; }
    const prefix_matcher& matcher() const { return matcher_; }
    const kv_block_manager& blocks() const { return kv_; }
    /// Empty when every invariant holds (see the definition).
    std::string check_invariants() const;

  private:
    struct entry;
    using entry_list = std::vector<std::unique_ptr<entry>>;

    void order_waiting();
    bool waits_for_sharer(const entry& w, const std::vector<const entry*>& prefilling) const;
    void admit(clock_type::time_point now);
    std::vector<step_sequence> allocate_step();
    void preempt(entry& r);
    void on_token(entry& r, runtime::sampled t, clock_type::time_point now);
    void cache_full_blocks(entry& r);
    void finish(entry& r, finish_reason reason, clock_type::time_point now,
                std::optional<radixrt::error> failure = std::nullopt);
    void end_all(finish_reason reason, clock_type::time_point now,
                 std::optional<radixrt::error> failure);
    void erase_finished();
    void require_between_steps(const char* what) const;

    planner_config cfg_;
    const runtime::tokenizer& tok_;
    prefix_matcher matcher_;
    kv_block_manager kv_;
    entry_list waiting_; // sorted for admission each step
    entry_list running_; // admission order, re-sorted by priority each step
    std::map<runtime::request_id, entry*> by_id_;
    std::vector<std::pair<runtime::request_id, std::size_t>> in_flight_; // (request, chunk)
    std::vector<planner_event> events_;
    std::uint64_t arrivals_ = 0;
    bool draining_ = false;
    clock_type::time_point deadline_ = clock_type::time_point::max();
    planner_counters counters_;
};

} // namespace radixrt::actors
