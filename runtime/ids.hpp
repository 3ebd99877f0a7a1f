#pragma once
// Strong id types: distinct enum classes so a block id can never be passed
// where a request id is expected. to_int() gives the underlying value.
#include <cstdint>
#include <functional>

namespace radixrt::runtime {

enum class block_id : std::int32_t {};
enum class request_id : std::uint64_t {};
enum class node_id : std::uint64_t {};

template <typename Id> constexpr auto to_int(Id id) {
    return static_cast<std::underlying_type_t<Id>>(id);
}

} // namespace radixrt::runtime
