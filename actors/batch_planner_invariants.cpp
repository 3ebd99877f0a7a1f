// batch_planner::check_invariants, apart from the decisions it checks.
#include <cstdint>

#include "actors/batch_planner.hpp"
#include "actors/detail/planner_entry.hpp"

namespace radixrt::actors {

using namespace runtime;

// The invariants the randomized tests check after every event:
//   - the tree and the pool are each consistent;
//   - every block reference is accounted for: the references in the pool
//     equal the tree's blocks plus every live request's own blocks;
//   - every lock in the tree belongs to a live request holding a node;
//   - waiting requests hold nothing; running ones hold blocks for what they
//     computed; the id index holds exactly the live requests.
std::string batch_planner::check_invariants() const {
    if (auto e = matcher_.check_invariants(); !e.empty()) {
        return "tree: " + e;
    }
    if (auto e = kv_.check_invariants(); !e.empty()) {
        return "pool: " + e;
    }
    std::size_t refs = 0;
    for (std::size_t b = 0; b < cfg_.kv_blocks; ++b) {
        refs += kv_.ref_count(block_id(std::int32_t(b)));
    }
    std::size_t own = 0, holders = 0;
    for (const auto& r : running_) {
        own += r->blocks.size() - r->shared;
        holders += to_int(r->node) != 0;
        if (r->blocks.size() * cfg_.block_size < r->computed || r->shared > r->blocks.size()) {
            return "running request " + std::to_string(to_int(r->id)) + " lacks blocks";
        }
        if (r->ended || !by_id_.contains(r->id)) {
            return "running request " + std::to_string(to_int(r->id)) + " is not live";
        }
    }
    for (const auto& w : waiting_) {
        if (!w->blocks.empty() || to_int(w->node) != 0 || w->computed != 0) {
            return "waiting request " + std::to_string(to_int(w->id)) + " holds KV";
        }
        if (w->ended || !by_id_.contains(w->id)) {
            return "waiting request " + std::to_string(to_int(w->id)) + " is not live";
        }
    }
    if (by_id_.size() != running_.size() + waiting_.size()) {
        return "the id index has " + std::to_string(by_id_.size()) + " entries for " +
               std::to_string(running_.size() + waiting_.size()) + " live requests";
    }
    if (refs != matcher_.cached_blocks() + own) {
        return "block references " + std::to_string(refs) + " != cached " +
               std::to_string(matcher_.cached_blocks()) + " + requests' own " + std::to_string(own);
    }
    // A lock on a node counts on every node of its path; the locks ending
    // at some node add up to the locks of the roots' children.
    std::size_t locks = 0;
    for (const auto& n : matcher_.snapshot({SIZE_MAX, {}}).nodes) {
        locks += n.parent == 0 ? n.locks : 0;
    }
    if (locks != holders) {
        return "the tree holds " + std::to_string(locks) + " locks for " + std::to_string(holders) +
               " requests";
    }
    return {};
}

} // namespace radixrt::actors
