#pragma once
// What the engine hands the scheduler: an accepted, validated request.
#include <chrono>
#include <memory>
#include <vector>

#include "radixrt/engine.hpp"
#include "runtime/ids.hpp"
#include "runtime/tokenizer.hpp"

namespace radixrt::actors {

using clock_type = std::chrono::steady_clock;

struct submission {
    runtime::request_id id{};
    std::shared_ptr<const std::vector<runtime::token_id>> prompt;
    radixrt::request params;
    std::weak_ptr<radixrt::stream_sink> sink;
    clock_type::time_point submitted;
};

} // namespace radixrt::actors
