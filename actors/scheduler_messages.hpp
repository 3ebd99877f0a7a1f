#pragma once
// The scheduler's inbox: what the engine (any thread) tells the scheduler.
// Every message only appends to the inbox; the scheduler loop takes the
// whole inbox between two steps and acts on it there.
#include <chrono>
#include <functional>
#include <memory>
#include <variant>
#include <vector>

#include "radixrt/introspection.hpp"
#include "radixrt/request.hpp"
#include "runtime/ids.hpp"
#include "runtime/tokenizer.hpp"

namespace radixrt::actors {

using clock_type = std::chrono::steady_clock;

/// An accepted, validated, tokenized request.
struct submission {
    runtime::request_id id{};
    std::vector<runtime::token_id> prompt;
    radixrt::request params; // prompt and prompt_ids empty: the tokens are above
    std::vector<runtime::token_id> shown; // params.preserved_tokens as ids, sorted
    clock_type::time_point submitted{};
};

struct submit_msg {
    submission sub;
    std::weak_ptr<stream_sink> sink; // expired: the client went away, cancel
};

struct cancel_msg {
    runtime::request_id id{};
};

/// No new work will come: finish what is queued or running; at the deadline
/// end whatever is left with errc::shutting_down.
struct drain_msg {
    clock_type::time_point deadline{};
};

struct snapshot_msg {
    cache_query query;
    std::function<void(expected<cache_snapshot>)> done;
};

struct flush_msg {
    std::function<void(expected<std::size_t>)> done;
};

using scheduler_message = std::variant<submit_msg, cancel_msg, drain_msg, snapshot_msg, flush_msg>;

} // namespace radixrt::actors
