// Prompt-token log-probabilities at the HTTP edge: completions with echo
// and logprobs, /generate with logprob_start_len. The reference: generated
// tokens, scored again as part of a prompt, give back the logprobs they were
// generated with (the decode path against the prompt-scoring path).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/http/live_server.hpp"

namespace rt = radixrt::test;
using nlohmann::json;
using rt::live_server;

namespace {

// echo with logprobs: the prompt's tokens come first, the first with null,
// the rest scored by the engine; scoring the generated tokens as part of a
// prompt gives back the logprobs they were generated with.
TEST(prompt_logprobs_server, echo_scores_the_prompt_like_decoding) {
    live_server s;
    const auto ids = json::parse(
        rt::post(s.port(), "/tokenize", R"({"text":"Once upon a time"})").body)["tokens"];
    const auto post = [&](const json& body) {
        return json::parse(rt::post(s.port(), "/v1/completions", body.dump()).body);
    };
    const auto gen = post({{"prompt", ids},
                           {"max_tokens", 5},
                           {"temperature", 0},
                           {"ignore_eos", true},
                           {"logprobs", 2}})["choices"][0];
    const auto& gl = gen["logprobs"];
    ASSERT_EQ(gl["token_logprobs"].size(), 5u);
    const auto out = post({{"prompt", ids},
                           {"max_tokens", 5},
                           {"temperature", 0},
                           {"ignore_eos", true},
                           {"logprobs", 2},
                           {"echo", true}})["choices"][0];
    const auto& l = out["logprobs"];
    const std::size_t n = ids.size();
    ASSERT_EQ(l["tokens"].size(), n + 5) << out.dump();
    EXPECT_TRUE(l["token_logprobs"][0].is_null());
    EXPECT_TRUE(l["top_logprobs"][0].is_null());
    for (std::size_t k = 1; k < n + 5; ++k) {
        ASSERT_TRUE(l["token_logprobs"][k].is_number()) << k;
        EXPECT_LE(l["token_logprobs"][k].get<double>(), 0.0);
        EXPECT_GE(l["text_offset"][k].get<std::size_t>(),
                  l["text_offset"][k - 1].get<std::size_t>());
    }
    for (std::size_t k = 0; k < 5; ++k) { // the completion part as without echo
        EXPECT_EQ(l["token_logprobs"][n + k], gl["token_logprobs"][k]);
    }
    // Generated tokens (their ids, from /generate) scored as a prompt: the
    // same logprobs as when they were generated.
    json both = ids;
    const auto g = json::parse(
        rt::post(s.port(), "/generate",
                 json{{"input_ids", ids},
                      {"sampling_params",
                       {{"max_new_tokens", 5}, {"temperature", 0}, {"ignore_eos", true}}}}
                     .dump())
            .body);
    for (const auto& id : g["output_ids"]) {
        both.push_back(id);
    }
    const auto scored = post({{"prompt", both},
                              {"max_tokens", 1},
                              {"temperature", 0},
                              {"logprobs", 0},
                              {"echo", true}})["choices"][0]["logprobs"]["token_logprobs"];
    ASSERT_EQ(scored.size(), n + 6);
    for (std::size_t k = 0; k < 5; ++k) {
        EXPECT_NEAR(scored[n + k].get<double>(), gl["token_logprobs"][k].get<double>(), 1e-4) << k;
    }
    // Streamed: the first chunk carries the echo and the prompt's logprobs.
    json body = {{"prompt", ids}, {"max_tokens", 3}, {"temperature", 0}, {"ignore_eos", true},
                 {"logprobs", 1}, {"echo", true},    {"stream", true}};
    std::size_t streamed = 0;
    bool first = true;
    for (const auto& ev : rt::sse_events(rt::post(s.port(), "/v1/completions", body.dump()).body)) {
        if (ev == "[DONE]") {
            continue;
        }
        const auto chunk = json::parse(ev);
        const auto& lp = chunk["choices"][0]["logprobs"];
        if (lp.is_null()) {
            continue;
        }
        if (first) {
            EXPECT_EQ(lp["tokens"].size(), n + 1);
            EXPECT_TRUE(lp["token_logprobs"][0].is_null());
            first = false;
        }
        streamed += lp["tokens"].size();
    }
    EXPECT_EQ(streamed, n + 3);
}

TEST(prompt_logprobs_server, generate_input_token_logprobs) {
    live_server s;
    const auto ids = json::parse(
        rt::post(s.port(), "/tokenize", R"({"text":"The quick brown fox"})").body)["tokens"];
    const auto g = json::parse(
        rt::post(s.port(), "/generate",
                 json{{"input_ids", ids},
                      {"return_logprob", true},
                      {"top_logprobs_num", 4},
                      {"sampling_params",
                       {{"max_new_tokens", 6}, {"temperature", 0}, {"ignore_eos", true}}}}
                     .dump())
            .body);
    const auto& out = g["meta_info"]["output_token_logprobs"];
    const auto& tops = g["meta_info"]["output_top_logprobs"];
    ASSERT_EQ(out.size(), 6u) << g.dump();
    // input-token logprobs (logprob_start_len): the generated tokens scored
    // as part of the input give back the logprobs they were generated with
    json input = ids;
    for (const auto& id : g["output_ids"]) {
        input.push_back(id);
    }
    const std::size_t from = ids.size();
    const auto scored =
        json::parse(rt::post(s.port(), "/generate",
                             json{{"input_ids", input},
                                  {"return_logprob", true},
                                  {"logprob_start_len", from},
                                  {"top_logprobs_num", 4},
                                  {"sampling_params", {{"max_new_tokens", 1}, {"temperature", 0}}}}
                                 .dump())
                        .body)["meta_info"];
    const auto& in = scored["input_token_logprobs"];
    ASSERT_EQ(in.size(), 6u) << scored.dump();
    ASSERT_EQ(scored["input_top_logprobs"].size(), 6u);
    for (std::size_t i = 0; i < 6; ++i) {
        EXPECT_EQ(in[i][1], out[i][1]);
        EXPECT_NEAR(in[i][0].get<double>(), out[i][0].get<double>(), 1e-4) << i;
        EXPECT_EQ(scored["input_top_logprobs"][i][0][1], tops[i][0][1]);
    }
    const auto first = json::parse(rt::post(s.port(), "/generate",
                                            json{{"input_ids", ids},
                                                 {"return_logprob", true},
                                                 {"logprob_start_len", 0},
                                                 {"sampling_params", {{"max_new_tokens", 1}}}}
                                                .dump())
                                       .body)["meta_info"]["input_token_logprobs"];
    ASSERT_EQ(first.size(), ids.size());
    EXPECT_TRUE(first[0][0].is_null()); // the first token has no context
    EXPECT_EQ(first[0][1], ids[0]);
}

} // namespace
