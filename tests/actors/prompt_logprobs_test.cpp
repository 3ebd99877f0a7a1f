// request::prompt_logprobs: each prompt token scored given the ones before
// it. References: the first generated token's own log-probabilities (a
// decode step, another path through the engine) for each prefix, and
// invariance under prefill chunking, batching and a cached prefix (the
// prompt is recomputed, so the scores are bit-identical).
#include "radixrt/engine.hpp"

#include <cmath>
#include <future>

#include <gtest/gtest.h>

namespace {

// Collects the first token's alternatives and the prompt's scores.
class sink : public radixrt::stream_sink {
  public:
    void on_token(const radixrt::token_event& e) override {
        if (e.index == 0) {
            first_top = e.top_logprobs;
        }
        ++tokens;
    }
    void on_prompt(std::span<const radixrt::prompt_token_logprob> t) override {
        EXPECT_EQ(tokens, 0) << "prompt scores come before the first token";
        scores.assign(t.begin(), t.end());
        ++prompts;
    }
    void on_finish(const radixrt::finish_event& e) override {
        cached = e.usage.cached_tokens;
        done.set_value();
    }
    std::vector<radixrt::token_logprob> first_top;
    std::vector<radixrt::prompt_token_logprob> scores;
    int tokens = 0, prompts = 0;
    std::size_t cached = 0;
    std::promise<void> done;
};

radixrt::request scored(std::vector<std::int32_t> prompt, std::size_t top, bool score = true) {
    radixrt::request r;
    r.prompt_ids = std::move(prompt);
    r.max_tokens = 2;
    r.sampling = {.temperature = 0.0f};
    r.prompt_logprobs = score;
    r.logprobs = true;
    r.top_logprobs = top;
    return r;
}

std::vector<std::shared_ptr<sink>> run(radixrt::engine& eng, std::vector<radixrt::request> rs) {
    std::vector<std::shared_ptr<sink>> sinks;
    std::vector<std::shared_ptr<radixrt::stream_sink>> as;
    for (std::size_t i = 0; i < rs.size(); ++i) {
        sinks.push_back(std::make_shared<sink>());
        as.push_back(sinks.back());
    }
    const auto h = eng.submit_all(std::move(rs), as);
    EXPECT_TRUE(h) << (h ? "" : h.error().message);
    for (auto& s : sinks) {
        EXPECT_EQ(s->done.get_future().wait_for(std::chrono::seconds(120)),
                  std::future_status::ready);
    }
    return sinks;
}

void expect_same(const std::vector<radixrt::prompt_token_logprob>& a,
                 const std::vector<radixrt::prompt_token_logprob>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].token, b[i].token) << i;
        EXPECT_EQ(a[i].logprob, b[i].logprob) << i; // bit-identical
        ASSERT_EQ(a[i].top_logprobs.size(), b[i].top_logprobs.size()) << i;
        for (std::size_t k = 0; k < a[i].top_logprobs.size(); ++k) {
            EXPECT_EQ(a[i].top_logprobs[k].token, b[i].top_logprobs[k].token);
            EXPECT_EQ(a[i].top_logprobs[k].logprob, b[i].top_logprobs[k].logprob);
        }
    }
}

TEST(prompt_logprobs, agree_with_the_next_token_distribution_of_each_prefix) {
    radixrt::engine eng(radixrt::engine_config{});
    const auto prompt = eng.tokenize("Once upon a time, there was", true);
    ASSERT_GT(prompt.size(), 10u);
    const auto whole = run(eng, {scored(prompt, 8)})[0];
    EXPECT_EQ(whole->prompts, 1);
    ASSERT_EQ(whole->scores.size(), prompt.size() - 1);
    std::vector<radixrt::request> prefixes;
    for (std::size_t k = 1; k < prompt.size(); ++k) {
        prefixes.push_back(scored({prompt.begin(), prompt.begin() + std::ptrdiff_t(k)}, 8, false));
    }
    const auto refs = run(eng, std::move(prefixes));
    for (std::size_t k = 1; k < prompt.size(); ++k) {
        SCOPED_TRACE(k);
        const auto& s = whole->scores[k - 1];
        const auto& ref = refs[k - 1]->first_top;
        EXPECT_EQ(s.token, prompt[k]);
        EXPECT_LE(s.logprob, 0.0f);
        ASSERT_EQ(s.top_logprobs.size(), ref.size());
        float mass = 0;
        for (std::size_t j = 0; j < ref.size(); ++j) {
            EXPECT_EQ(s.top_logprobs[j].token, ref[j].token);
            EXPECT_NEAR(s.top_logprobs[j].logprob, ref[j].logprob, 1e-5);
            mass += std::exp(s.top_logprobs[j].logprob);
            if (ref[j].token == prompt[k]) {
                EXPECT_NEAR(s.logprob, ref[j].logprob, 1e-5);
            }
        }
        EXPECT_LE(mass, 1.0001f);
    }
}

TEST(prompt_logprobs, the_same_under_chunking_batching_and_a_cached_prefix) {
    radixrt::engine_config small_chunks;
    small_chunks.max_prefill_chunk = 5;
    radixrt::engine chunked(small_chunks);
    radixrt::engine eng(radixrt::engine_config{});
    const auto prompt = eng.tokenize(
        "The river ran under the old stone bridge, past the mill and the houses of the town.",
        true);
    ASSERT_GT(prompt.size(), 40u);
    const auto alone = run(eng, {scored(prompt, 3)})[0];
    // Cached now: a second scoring request recomputes it all the same.
    auto again = run(eng, {scored(prompt, 3), scored(prompt, 0, false)});
    EXPECT_EQ(again[0]->cached, 0u);
    EXPECT_GT(again[1]->cached, 0u); // the cache was there for a request that does not score
    expect_same(alone->scores, again[0]->scores);
    expect_same(alone->scores, run(chunked, {scored(prompt, 3)})[0]->scores);
}

} // namespace
