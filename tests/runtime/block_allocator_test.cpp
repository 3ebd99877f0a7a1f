#include "runtime/block_allocator.hpp"

#include <set>

#include <gtest/gtest.h>

namespace rr = radixrt::runtime;

TEST(block_allocator, all_or_nothing_and_refcounts) {
    rr::block_allocator a(8);
    EXPECT_EQ(a.stats().free, 8u);
    auto five = a.allocate(5);
    ASSERT_TRUE(five);
    std::set<std::int32_t> ids;
    for (auto b : *five) {
        ids.insert(rr::to_int(b));
        EXPECT_EQ(a.ref_count(b), 1u);
    }
    EXPECT_EQ(ids.size(), 5u);   // distinct
    EXPECT_FALSE(a.allocate(4)); // only 3 left: nothing taken
    EXPECT_EQ(a.stats().free, 3u);
    a.retain((*five)[0]);
    a.release((*five)[0]);
    EXPECT_EQ(a.ref_count((*five)[0]), 1u);
    a.release(*five);
    EXPECT_EQ(a.stats().free, 8u);
    EXPECT_EQ(a.check_invariants(), "");
    EXPECT_THROW(a.release((*five)[1]), std::logic_error); // already free
    EXPECT_THROW(a.retain(rr::block_id(99)), std::logic_error);
    EXPECT_EQ(a.check_invariants(), "");
    auto all = a.allocate(8);
    ASSERT_TRUE(all);
    EXPECT_EQ(a.stats().in_use, 8u);
    EXPECT_TRUE(a.allocate(0));
}
