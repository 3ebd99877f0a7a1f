#include "runtime/block_allocator.hpp"

#include <stdexcept>

namespace radixrt::runtime {

block_allocator::block_allocator(std::size_t n_blocks) : refs_(n_blocks, 0) {
    free_.reserve(n_blocks);
    // Lowest ids on top of the stack: the arena fills from its start.
    for (std::size_t i = n_blocks; i-- > 0;) {
        free_.push_back(block_id(std::int32_t(i)));
    }
}

std::optional<std::vector<block_id>> block_allocator::allocate(std::size_t n) {
    if (n > free_.size()) {
        return std::nullopt;
    }
    std::vector<block_id> out(free_.end() - std::ptrdiff_t(n), free_.end());
    free_.resize(free_.size() - n);
    for (block_id b : out) {
        refs_[std::size_t(to_int(b))] = 1;
    }
    return out;
}

std::uint32_t& block_allocator::ref(block_id b, const char* op) {
    const auto i = to_int(b);
    if (i < 0 || std::size_t(i) >= refs_.size()) {
        throw std::logic_error(std::string(op) + ": block " + std::to_string(i) +
                               " does not exist");
    }
    if (refs_[std::size_t(i)] == 0) {
        throw std::logic_error(std::string(op) + ": block " + std::to_string(i) + " is free");
    }
    return refs_[std::size_t(i)];
}

void block_allocator::retain(block_id b) {
    ++ref(b, "retain");
}

void block_allocator::release(block_id b) {
    if (--ref(b, "release") == 0) {
        free_.push_back(b);
    }
}

void block_allocator::release(std::span<const block_id> blocks) {
    for (block_id b : blocks) {
        release(b);
    }
}

std::uint32_t block_allocator::ref_count(block_id b) const {
    const auto i = to_int(b);
    return i >= 0 && std::size_t(i) < refs_.size() ? refs_[std::size_t(i)] : 0;
}

std::string block_allocator::check_invariants() const {
    std::vector<bool> seen(refs_.size(), false);
    for (block_id b : free_) {
        const auto i = std::size_t(to_int(b));
        if (i >= refs_.size()) {
            return "free list holds unknown block " + std::to_string(i);
        }
        if (seen[i]) {
            return "block " + std::to_string(i) + " is on the free list twice";
        }
        seen[i] = true;
        if (refs_[i] != 0) {
            return "block " + std::to_string(i) + " is free and referenced";
        }
    }
    std::size_t referenced = 0;
    for (auto r : refs_) {
        referenced += r > 0 ? 1 : 0;
    }
    if (referenced + free_.size() != refs_.size()) {
        return "free (" + std::to_string(free_.size()) + ") + referenced (" +
               std::to_string(referenced) + ") != total (" + std::to_string(refs_.size()) + ")";
    }
    return {};
}

} // namespace radixrt::runtime
