#include "http/metrics.hpp"

#include <sstream>

namespace radixrt::http {

namespace {

void histogram(std::ostringstream& o, const char* name, const char* help,
               const histogram_snapshot& h) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " histogram\n";
    std::uint64_t cum = 0;
    for (std::size_t i = 0; i < h.bounds.size(); ++i) {
        cum += i < h.counts.size() ? h.counts[i] : 0;
        o << name << "_bucket{le=\"" << h.bounds[i] << "\"} " << cum << "\n";
    }
    o << name << "_bucket{le=\"+Inf\"} " << h.count << "\n";
    o << name << "_sum " << h.sum << "\n" << name << "_count " << h.count << "\n";
}

void scalar(std::ostringstream& o, const char* name, const char* type, const char* help, double v) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
      << name << " " << v << "\n";
}

} // namespace

void metrics::request(const std::string& endpoint, const std::string& outcome) {
    std::lock_guard lock(mutex_);
    ++requests_[{endpoint, outcome}];
}

void metrics::ttft(double s) {
    std::lock_guard lock(mutex_);
    ttft_.observe(s);
}

void metrics::inter_token(double s) {
    std::lock_guard lock(mutex_);
    itl_.observe(s);
}

void metrics::finished(const finish_event& e) {
    std::lock_guard lock(mutex_);
    e2e_.observe(e.usage.total_ms / 1000.0);
    queue_.observe(e.usage.queue_ms / 1000.0);
}

void metrics::abandoned(double seconds) {
    std::lock_guard lock(mutex_);
    e2e_.observe(seconds);
}

std::string metrics::render(const engine_stats& s, bool ready) const {
    const auto& c = s.cache;
    std::ostringstream o;
    {
        std::lock_guard lock(mutex_);
        o << "# HELP radixrt_requests_total Requests by endpoint and outcome.\n# TYPE "
             "radixrt_requests_total counter\n";
        for (const auto& [k, v] : requests_) {
            o << "radixrt_requests_total{endpoint=\"" << k.first << "\",outcome=\"" << k.second
              << "\"} " << v << "\n";
        }
        histogram(o, "radixrt_time_to_first_token_seconds",
                  "Time from request arrival to its first token.", ttft_);
        histogram(o, "radixrt_inter_token_latency_seconds",
                  "Time between consecutive tokens of a stream.", itl_);
        histogram(o, "radixrt_e2e_request_latency_seconds",
                  "Time from submission to the finish event.", e2e_);
        histogram(o, "radixrt_queue_time_seconds", "Time from submission to first scheduling.",
                  queue_);
    }
    scalar(o, "radixrt_ready", "gauge", "1 once the model is loaded.", ready ? 1 : 0);
    scalar(o, "radixrt_prompt_tokens_total", "counter", "Prompt tokens of admitted requests.",
           double(s.prompt_tokens));
    scalar(o, "radixrt_cached_prompt_tokens_total", "counter",
           "Prompt tokens served from the prefix cache.", double(s.cached_prompt_tokens));
    scalar(o, "radixrt_computed_prompt_tokens_total", "counter",
           "Prompt tokens computed (incl. recomputation).", double(s.computed_prompt_tokens));
    scalar(o, "radixrt_generation_tokens_total", "counter", "Generated tokens.",
           double(s.generated_tokens));
    scalar(o, "radixrt_cache_lookups_total", "counter", "Prefix cache look-ups.",
           double(c.lookups));
    scalar(o, "radixrt_cache_requested_tokens_total", "counter",
           "Tokens asked of the prefix cache.", double(c.requested_tokens));
    scalar(o, "radixrt_cache_hit_tokens_total", "counter",
           "Tokens the prefix cache matched (hit rate = hit / requested).",
           double(c.matched_tokens));
    scalar(o, "radixrt_cache_evicted_blocks_total", "counter",
           "KV blocks evicted from the prefix cache.", double(c.evicted_blocks));
    o << "# HELP radixrt_kv_blocks KV cache blocks by state.\n# TYPE radixrt_kv_blocks gauge\n";
    o << "radixrt_kv_blocks{state=\"total\"} " << s.kv_blocks_total << "\n";
    o << "radixrt_kv_blocks{state=\"used\"} " << s.kv_blocks_total - s.kv_blocks_free << "\n";
    o << "radixrt_kv_blocks{state=\"free\"} " << s.kv_blocks_free << "\n";
    o << "radixrt_kv_blocks{state=\"cached\"} " << s.kv_blocks_cached << "\n";
    o << "radixrt_kv_blocks{state=\"evictable\"} " << s.kv_blocks_evictable << "\n";
    scalar(o, "radixrt_requests_running", "gauge", "Requests prefilling or decoding.",
           double(s.running));
    scalar(o, "radixrt_requests_waiting", "gauge", "Requests in the waiting queue.",
           double(s.waiting));
    scalar(o, "radixrt_requests_rejected_total", "counter", "Submissions refused as overloaded.",
           double(s.requests_rejected));
    scalar(o, "radixrt_requests_accepted_total", "counter",
           "Requests the scheduler took in (each ends once: finished, cancelled or failed).",
           double(s.requests_accepted));
    scalar(o, "radixrt_preemptions_total", "counter", "Requests preempted for KV space.",
           double(s.preemptions));
    scalar(o, "radixrt_steps_total", "counter", "Forward steps run.", double(s.steps));
    histogram(o, "radixrt_step_seconds", "Duration of one batched forward step.", s.step_seconds);
    scalar(o, "radixrt_scheduler_step_seconds_total", "counter",
           "Scheduler iterations that ran a step, whole (planning, step, results, events).",
           s.scheduler_step_seconds);
    scalar(o, "radixrt_step_compute_seconds_total", "counter",
           "Of which executor compute (forward, scoring, sampling; slowest executor per step).",
           s.compute_seconds);
    scalar(o, "radixrt_step_forward_seconds_total", "counter", "Of which the model's forward pass.",
           s.forward_seconds);
    histogram(o, "radixrt_batch_tokens", "Tokens computed per step.", s.batch_tokens);
    return o.str();
}

} // namespace radixrt::http
