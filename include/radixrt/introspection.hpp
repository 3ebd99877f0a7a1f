#pragma once
/// What the engine tells about itself: statistics, the model, and a snapshot
/// of the radix prefix cache (for dashboards such as the gateway's /v1/cache).
#include <cstdint>
#include <string>
#include <vector>

namespace radixrt {

/// Counts per bucket (counts[i]: values <= bounds[i]; the last: the rest).
struct histogram_snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> counts;
    double sum = 0;
    std::uint64_t count = 0;
    void observe(double v);
};

/// Look-ups of the prefix cache made for requests (not internal walks).
struct cache_counters {
    std::uint64_t lookups = 0;
    std::uint64_t requested_tokens = 0; ///< prompt tokens looked up
    std::uint64_t matched_tokens = 0;   ///< of which found in the cache
    std::uint64_t inserts = 0;
    std::uint64_t inserted_tokens = 0;
    std::uint64_t evicted_blocks = 0;
};

struct engine_stats {
    std::size_t waiting = 0, running = 0;
    std::size_t kv_blocks_total = 0, kv_blocks_free = 0, kv_blocks_cached = 0,
                kv_blocks_evictable = 0;
    std::size_t kv_capacity_tokens = 0; ///< tokens the whole KV pool holds
    std::size_t kv_bytes = 0;           ///< its size
    /// Requests the scheduler took in; each ends exactly once, as finished,
    /// cancelled or failed (the rejected never reached it).
    std::uint64_t requests_accepted = 0;
    std::uint64_t requests_finished = 0, requests_cancelled = 0, requests_failed = 0,
                  requests_rejected = 0;
    std::uint64_t prompt_tokens = 0, cached_prompt_tokens = 0, computed_prompt_tokens = 0,
                  generated_tokens = 0;
    std::uint64_t steps = 0, preemptions = 0;
    double last_step_ms = 0;
    std::size_t last_batch_tokens = 0;
    /// Where step time goes, summed over every step: the scheduler's whole
    /// iteration (taking messages, planning, the step, applying its results,
    /// delivering events), of which the executors' compute (the slowest
    /// executor of each step: forward pass, scoring and sampling), of which
    /// the forward pass. scheduler - compute is the scheduler's own overhead.
    double scheduler_step_seconds = 0, compute_seconds = 0, forward_seconds = 0;
    cache_counters cache;
    histogram_snapshot step_seconds{
        {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}, {}, 0, 0};
    histogram_snapshot batch_tokens{
        {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}, {}, 0, 0};
};

struct model_info {
    std::string name;         ///< general.name, or the file name
    std::string architecture; ///< general.architecture
    std::size_t vocab_size = 0, context_length = 0, n_layers = 0, dim = 0;
    std::int32_t bos = -1, eos = -1; ///< -1: none
    bool add_bos = false;            ///< the vocabulary wants BOS before text prompts
    std::string bos_text, eos_text;  ///< the BOS/EOS tokens' texts ("<s>"), empty if none
    std::string chat_template;       ///< tokenizer.chat_template (Jinja), empty if none
};

/// What a cache snapshot covers.
struct cache_query {
    std::size_t max_nodes = 512;  ///< nodes of the sharing graph at most
    std::string namespace_prefix; ///< only namespaces starting with it; empty: all
};

/// The radix tree as it is between two scheduler steps.
struct cache_snapshot {
    struct node {
        std::uint64_t id = 0, parent = 0; ///< 0: a namespace root
        std::string ns;
        std::size_t tokens = 0;       ///< on the edge into this node
        std::size_t depth_tokens = 0; ///< from the root to the end of this edge
        std::uint32_t locks = 0;      ///< running requests using this prefix
        std::uint64_t hits = 0;
        std::uint64_t last_access = 0; ///< logical clock
        std::size_t live_requests = 0; ///< live requests whose tokens run through this node
    };
    struct prefix_group {
        std::string ns;
        std::size_t shared_tokens = 0; ///< common to every member, whole blocks
        std::vector<std::uint64_t> requests;
    };
    struct savings {
        std::uint64_t requested_prefill_tokens = 0; ///< over all look-ups
        std::uint64_t cached_prefill_tokens = 0;    ///< served from the cache instead of computed
        std::uint64_t live_tokens = 0;              ///< prompt tokens of the live requests
        std::uint64_t live_shared_tokens = 0;       ///< of which shared with another live request
    };

    bool enabled = true;
    std::size_t capacity_tokens = 0; ///< tokens the whole KV pool holds
    std::string kv_type;             ///< "f16" or "f32"
    bool scoped = false; ///< a namespace prefix was given: counters and saved are not filled
    std::size_t block_size = 0, cached_blocks = 0, evictable_tokens = 0, protected_tokens = 0;
    cache_counters counters;                ///< over every namespace
    savings saved;                          ///< over every namespace
    std::vector<prefix_group> groups;       ///< live requests sharing a prefix
    std::vector<node> nodes;                ///< parents before children
    std::vector<std::uint64_t> convergence; ///< nodes that two or more live requests share
    bool truncated = false;                 ///< more nodes than asked for
};

} // namespace radixrt
