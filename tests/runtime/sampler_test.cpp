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

// The sampler sorts only as far as a top-p / min-p cut reaches, in growing
// chunks; this reference sorts the whole vocabulary and applies the rules as
// written (OpenAI/llama.cpp semantics: top-k, then the smallest prefix whose
// mass reaches top_p, then drop tokens under min_p * p_max), with the same
// uniform draw. Logits on a coarse grid make ties (the lower id first), some
// are masked, and the cuts land thousands of tokens deep.
TEST(sampler, truncation_on_a_large_vocabulary_equals_a_full_sort) {
    std::mt19937 g(11);
    std::normal_distribution<float> nd(0.0f, 2.0f);
    std::vector<float> l(20000);
    for (auto& x : l) {
        x = std::round(nd(g) * 4.0f) / 4.0f;
    }
    for (std::size_t i = 0; i < l.size(); i += 97) {
        l[i] = -INFINITY;
    }
    auto reference = [&](const rr::sampling_params& p) {
        const double inv_t = 1.0 / p.temperature;
        std::vector<rr::token_id> order;
        for (std::size_t i = 0; i < l.size(); ++i) {
            if (l[i] != -INFINITY) {
                order.push_back(rr::token_id(i));
            }
        }
        std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return l[a] > l[b]; });
        if (p.top_k > 0 && p.top_k < order.size()) {
            order.resize(p.top_k);
        }
        const double mx = double(l[std::size_t(order[0])]) * inv_t;
        std::vector<double> w;
        double sum = 0;
        for (auto t : order) {
            w.push_back(std::exp(double(l[std::size_t(t)]) * inv_t - mx));
            sum += w.back();
        }
        std::size_t cut = order.size();
        double acc = 0;
        for (std::size_t i = 0; i < order.size() && p.top_p < 1.0f; ++i) {
            acc += w[i] / sum;
            if (acc >= p.top_p) {
                cut = i + 1;
                break;
            }
        }
        std::size_t keep = 1;
        while (keep < cut && (p.min_p <= 0.0f || w[keep] >= p.min_p * w[0])) {
            ++keep;
        }
        double mass = 0;
        for (std::size_t i = 0; i < keep; ++i) {
            mass += w[i];
        }
        double r = rr::rng(p.seed).uniform() * mass;
        for (std::size_t i = 0; i < keep; ++i) {
            if ((r -= w[i]) < 0) {
                return std::pair{order[i], keep};
            }
        }
        return std::pair{order[keep - 1], keep};
    };
    struct rule {
        float temperature, top_p, min_p;
        std::size_t top_k;
    };
    std::size_t deepest = 0;
    for (auto [t, top_p, min_p, top_k] : {rule{1.0f, 0.9f, 0.0f, 0}, rule{0.8f, 0.5f, 0.0f, 0},
                                          rule{1.0f, 0.99f, 0.001f, 0}, rule{1.3f, 1.0f, 0.05f, 0},
                                          rule{1.0f, 0.8f, 0.0f, 3000}, rule{1.0f, 1.0f, 0.0f, 7}}) {
        for (std::uint64_t seed = 1; seed <= 200; ++seed) {
            rr::sampling_params p{.temperature = t, .top_k = top_k, .top_p = top_p, .min_p = min_p};
            p.seed = seed;
            const auto [want, kept] = reference(p);
            deepest = std::max(deepest, kept);
            rr::sampler s(p, {});
            auto copy = l;
            ASSERT_EQ(s.sample(copy)->id, want) << "t " << t << " top_p " << top_p << " min_p "
                                                << min_p << " top_k " << top_k << " seed " << seed;
        }
    }
    EXPECT_GT(deepest, 4000u); // the chunked sort really grew past its first chunks
}

// Without truncation every unmasked token is reachable and masked ones never
// are, whatever the vocabulary's size.
TEST(sampler, untruncated_sampling_skips_masked_tokens) {
    std::vector<float> l(5000, 0.0f);
    for (std::size_t i = 0; i < l.size(); ++i) {
        if (i % 3 != 0) {
            l[i] = -INFINITY;
        }
    }
    l.back() = 0.0f; // the last entry is a candidate too
    std::map<rr::token_id, int> seen;
    for (std::uint64_t seed = 1; seed <= 20000; ++seed) {
        rr::sampler s({.temperature = 1.0f, .seed = seed}, {});
        auto copy = l;
        const auto id = s.sample(copy)->id;
        ASSERT_NE(l[std::size_t(id)], -INFINITY) << id;
        ++seen[id];
    }
    EXPECT_GT(seen.size(), 1500u); // 1,668 equally likely candidates, 20,000 draws
}
