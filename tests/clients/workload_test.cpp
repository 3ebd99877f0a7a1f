#include "clients/workload.hpp"

#include <fstream>
#include <set>

#include <gtest/gtest.h>

namespace rc = radixrt::clients;

TEST(workload, shared_prefix_groups) {
    rc::workload_options o;
    o.groups = 3, o.prompts_per_group = 5, o.system_len = 20, o.question_len = 8, o.output_len = 6,
    o.range_ratio = 0.5;
    o.vocab_size = 100;
    const auto reqs = rc::make_workload(o);
    ASSERT_EQ(reqs.size(), 15u);
    std::map<std::vector<std::int32_t>, int> systems;
    for (const auto& r : reqs) {
        ++systems[{r.prompt_ids.begin(), r.prompt_ids.begin() + 20}];
        EXPECT_GE(r.prompt_ids.size(), 20u + 4);
        EXPECT_LE(r.prompt_ids.size(), 20u + 8);
        EXPECT_GE(r.max_tokens, 3u);
        EXPECT_LE(r.max_tokens, 6u);
        for (auto t : r.prompt_ids) {
            EXPECT_GE(t, 3);
            EXPECT_LT(t, 100);
        }
    }
    ASSERT_EQ(systems.size(), 3u); // three system prompts, five requests each
    for (const auto& [s, n] : systems) {
        EXPECT_EQ(n, 5);
    }
    EXPECT_EQ(rc::make_workload(o)[0].prompt_ids, reqs[0].prompt_ids); // seeded
    o.seed = 2;
    EXPECT_NE(rc::make_workload(o)[0].prompt_ids, reqs[0].prompt_ids);
}

TEST(workload, multi_turn_extends_each_turn) {
    rc::workload_options o;
    o.kind = "multi-turn";
    o.conversations = 2, o.turns = 3, o.system_len = 10, o.question_len = 4, o.output_len = 5,
    o.range_ratio = 1;
    const auto reqs = rc::make_workload(o);
    ASSERT_EQ(reqs.size(), 6u);
    for (std::size_t i = 1; i < reqs.size(); ++i) {
        if (reqs[i].conversation == reqs[i - 1].conversation) {
            const auto& a = reqs[i - 1].prompt_ids;
            const auto& b = reqs[i].prompt_ids;
            ASSERT_EQ(b.size(), a.size() + 5 + 4);
            EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin())); // a prefix of the next turn
            EXPECT_EQ(reqs[i].turn, reqs[i - 1].turn + 1);
        }
    }
}

TEST(workload, trace_and_errors) {
    const std::string path = ::testing::TempDir() + "/trace.jsonl";
    {
        std::ofstream f(path);
        f << R"({"timestamp": 1.5, "prompt": "b", "max_tokens": 3})"
          << "\n\n"
          << R"({"timestamp": 0.5, "input_ids": [5, 6], "max_tokens": 2})"
          << "\n";
    }
    rc::workload_options o;
    o.kind = "trace";
    o.trace_file = path;
    const auto reqs = rc::make_workload(o);
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(reqs[0].at, 0.5); // in time order
    EXPECT_EQ(reqs[0].prompt_ids, (std::vector<std::int32_t>{5, 6}));
    EXPECT_EQ(reqs[1].text, "b");
    {
        std::ofstream f(path);
        f << "{broken\n";
    }
    EXPECT_THROW(rc::make_workload(o), std::runtime_error);
    o.kind = "nonsense";
    EXPECT_THROW(rc::make_workload(o), std::runtime_error);
}
