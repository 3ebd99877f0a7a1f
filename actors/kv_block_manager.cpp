#include "actors/kv_block_manager.hpp"

namespace radixrt::actors {

using namespace runtime;

kv_block_manager::kv_block_manager(std::size_t n_blocks, prefix_matcher& matcher)
    : pool_(n_blocks), matcher_(matcher) {}

std::optional<std::vector<block_id>> kv_block_manager::allocate(std::size_t n) {
    if (pool_.stats().free < n) {
        pool_.release(matcher_.evict(n - pool_.stats().free));
    }
    return pool_.allocate(n);
}

void kv_block_manager::release(std::span<const block_id> blocks) {
    pool_.release(blocks);
}

std::size_t kv_block_manager::flush() {
    const auto freed = matcher_.evict(SIZE_MAX);
    pool_.release(freed);
    return freed.size();
}

} // namespace radixrt::actors
