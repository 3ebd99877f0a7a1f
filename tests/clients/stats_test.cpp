#include "clients/stats.hpp"

#include <gtest/gtest.h>

namespace rc = radixrt::clients;

TEST(stats, percentiles_interpolate_between_ranks) {
    // numpy.percentile([1, 2, 3, 4], q): 50 -> 2.5, 90 -> 3.7, 0 -> 1, 100 -> 4
    EXPECT_DOUBLE_EQ(rc::percentile({4, 1, 3, 2}, 50), 2.5);
    EXPECT_DOUBLE_EQ(rc::percentile({4, 1, 3, 2}, 90), 3.7);
    EXPECT_DOUBLE_EQ(rc::percentile({4, 1, 3, 2}, 0), 1);
    EXPECT_DOUBLE_EQ(rc::percentile({4, 1, 3, 2}, 100), 4);
    EXPECT_DOUBLE_EQ(rc::percentile({7}, 99), 7);
    EXPECT_DOUBLE_EQ(rc::percentile({}, 50), 0);
    std::vector<double> v;
    for (int i = 1; i <= 100; ++i) {
        v.push_back(i);
    }
    EXPECT_DOUBLE_EQ(rc::percentile(v, 99), 99.01); // rank 98.01
    const auto s = rc::summarize(v);
    EXPECT_EQ(s.count, 100u);
    EXPECT_DOUBLE_EQ(s.mean, 50.5);
    EXPECT_DOUBLE_EQ(s.p50, 50.5);
    EXPECT_DOUBLE_EQ(s.min, 1);
    EXPECT_DOUBLE_EQ(s.max, 100);
}
