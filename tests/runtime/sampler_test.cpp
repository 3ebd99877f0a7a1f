#include "runtime/sampler.hpp"

#include <cmath>
#include <map>
#include <random>

#include <gtest/gtest.h>

namespace rr = radixrt::runtime;

namespace {
std::vector<float> logits_of(std::size_t n, unsigned seed) {
    std::mt19937 g(seed);
    std::normal_distribution<float> nd(0.0f, 2.0f);
    std::vector<float> v(n);
    for (auto& x : v) {
        x = nd(g);
    }
    return v;
}

std::vector<double> softmax(const std::vector<float>& l, double t) {
    double mx = *std::max_element(l.begin(), l.end()), s = 0;
    std::vector<double> p(l.size());
    for (std::size_t i = 0; i < l.size(); ++i) {
        s += p[i] = std::exp((l[i] - mx) / t);
    }
    for (auto& x : p) {
        x /= s;
    }
    return p;
}

std::map<rr::token_id, int> draw(const rr::sampling_params& sp, const std::vector<float>& l,
                                 int n) {
    std::map<rr::token_id, int> counts;
    for (int i = 0; i < n; ++i) {
        rr::sampling_params p = sp;
        p.seed = std::uint64_t(i) * 7919 + 1;
        rr::sampler s(p, {});
        auto copy = l;
        ++counts[s.sample(copy)->id];
    }
    return counts;
}
} // namespace

TEST(sampler, greedy_is_argmax_with_logprob) {
    auto l = logits_of(50, 1);
    rr::sampler s({.temperature = 0.0f}, {});
    auto copy = l;
    auto r = *s.sample(copy);
    EXPECT_EQ(r.id, std::max_element(l.begin(), l.end()) - l.begin());
    EXPECT_NEAR(r.logprob, std::log(softmax(l, 1.0)[std::size_t(r.id)]), 1e-5);
}

TEST(sampler, frequencies_match_softmax) {
    auto l = logits_of(8, 2);
    const int n = 40000;
    for (double t : {0.7, 1.0, 1.5}) {
        auto counts = draw({.temperature = float(t)}, l, n);
        auto p = softmax(l, t);
        for (std::size_t i = 0; i < p.size(); ++i) {
            const double f = counts[rr::token_id(i)] / double(n);
            // 5 standard deviations of a binomial proportion
            EXPECT_NEAR(f, p[i], 5 * std::sqrt(p[i] * (1 - p[i]) / n) + 1e-4)
                << "t=" << t << " token " << i;
        }
    }
}

TEST(sampler, top_k_top_p_min_p_restrict_the_support) {
    auto l = logits_of(100, 3);
    std::vector<int> order(100);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return l[a] > l[b]; });
    auto p = softmax(l, 1.0);
    // top-k: only the k best ever appear
    for (auto [id, c] : draw({.top_k = 5}, l, 3000)) {
        EXPECT_LT(std::find(order.begin(), order.end(), id) - order.begin(), 5);
    }
    // top-p: the smallest prefix of sorted tokens whose mass reaches 0.6
    double acc = 0;
    std::size_t cut = 0;
    while (acc < 0.6) {
        acc += p[std::size_t(order[cut++])];
    }
    for (auto [id, c] : draw({.top_p = 0.6f}, l, 3000)) {
        EXPECT_LT(std::size_t(std::find(order.begin(), order.end(), id) - order.begin()), cut);
    }
    // min-p: never a token below 0.2 * p_max
    for (auto [id, c] : draw({.min_p = 0.2f}, l, 3000)) {
        EXPECT_GE(p[std::size_t(id)], 0.2 * p[std::size_t(order[0])] - 1e-9);
    }
}

TEST(sampler, penalties_and_bias) {
    std::vector<float> l = {1.0f, 2.0f, 3.0f, -1.0f};
    // logit bias can force a token
    rr::sampler b({.temperature = 0.0f, .logit_bias = {{3, 100.0f}}}, {});
    auto c1 = l;
    EXPECT_EQ(b.sample(c1)->id, 3);
    // presence penalty: after emitting token 2 once, it loses 5 and token 1 wins
    rr::sampler pp({.temperature = 0.0f, .presence_penalty = 5.0f}, {});
    auto c2 = l;
    EXPECT_EQ(pp.sample(c2)->id, 2);
    auto c3 = l;
    EXPECT_EQ(pp.sample(c3)->id, 1);
    // repetition penalty over the prompt: 3 / 2 = 1.5 < 2
    std::vector<rr::token_id> prompt = {2};
    rr::sampler rp({.temperature = 0.0f, .repetition_penalty = 2.0f}, prompt);
    auto c4 = l;
    EXPECT_EQ(rp.sample(c4)->id, 1);
    EXPECT_FLOAT_EQ(c4[2], 1.5f);
}

TEST(sampler, same_seed_same_tokens) {
    auto l = logits_of(1000, 4);
    rr::sampler a({.temperature = 1.0f, .seed = 99}, {}), b({.temperature = 1.0f, .seed = 99}, {});
    for (int i = 0; i < 50; ++i) {
        auto x = l, y = l;
        EXPECT_EQ(a.sample(x)->id, b.sample(y)->id);
    }
}
