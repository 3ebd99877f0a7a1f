#include "actors/kv_block_manager_actor.hpp"

namespace radixrt::actors {

using namespace runtime;

kv_block_manager_actor::kv_block_manager_actor(asio::io_context& ioc, const llama_config& cfg,
                                               std::size_t n_blocks, std::size_t block_size,
                                               prefix_matcher_actor& matcher)
    : actor(ioc, "kv-block-manager"), pool_(n_blocks), storage_(cfg, n_blocks, block_size),
      matcher_(matcher) {}

awaitable<std::optional<std::vector<block_id>>> kv_block_manager_actor::allocate(std::size_t n) {
    if (pool_.stats().free < n) {
        const auto freed = co_await call(matcher_, matcher_.evict(n - pool_.stats().free));
        pool_.release(freed);
    }
    co_return pool_.allocate(n);
}

awaitable<void> kv_block_manager_actor::release(std::vector<block_id> blocks) {
    pool_.release(blocks);
    co_return;
}

awaitable<block_stats> kv_block_manager_actor::usage() {
    co_return pool_.stats();
}

} // namespace radixrt::actors

namespace radixrt::actors {

awaitable<std::size_t> kv_block_manager_actor::flush() {
    const auto freed = co_await runtime::call(matcher_, matcher_.evict(SIZE_MAX));
    pool_.release(freed);
    co_return freed.size();
}

} // namespace radixrt::actors
