// Constrained decoding through the engine (issue 12): request::constraint
// compiled at submit, one grammar processor per request, `stop` when the
// output is complete, `length` when max_tokens cuts it, errors naming the
// field and keyword, and correctness under batching, preemption and the
// prefix cache. The built-in model's vocabulary is bytes plus words, so
// every JSON text is reachable; its random weights make the samples varied.
#include "radixrt/engine.hpp"

#include <future>
#include <mutex>
#include <regex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/constraint_compiler.hpp"
#include "runtime/synthetic.hpp"
#include "runtime/tokenizer.hpp"
#include "tests/support/json_schema_validator.hpp"

using nlohmann::json;
using radixrt::constraint_kind;
using radixrt::finish_reason;

namespace {

// Collects one request's stream.
class collector : public radixrt::stream_sink {
  public:
    void on_token(const radixrt::token_event& e) override {
        std::lock_guard lock(mutex_);
        out_.tokens.push_back(e.token);
        out_.text += e.text;
    }
    void on_finish(const radixrt::finish_event& e) override {
        std::lock_guard lock(mutex_);
        out_.text += e.text_tail;
        out_.finish = e;
        done_.set_value(out_);
    }
    radixrt::generation get() {
        auto f = done_.get_future();
        EXPECT_EQ(f.wait_for(std::chrono::seconds(300)), std::future_status::ready);
        return f.get();
    }

  private:
    std::mutex mutex_;
    radixrt::generation out_;
    std::promise<radixrt::generation> done_;
};

// The built-in vocabulary: <unk> <s> </s>, then byte b is token 3 + b.
std::int32_t byte_token(char b) {
    return 3 + std::int32_t(static_cast<unsigned char>(b));
}
constexpr std::int32_t eos_token = 2;

radixrt::request constrained(constraint_kind kind, std::string text, std::uint64_t seed,
                             std::size_t max_tokens = 600) {
    radixrt::request r;
    r.prompt = "Once upon a time";
    r.max_tokens = max_tokens;
    r.sampling = {.temperature = 1.0f, .seed = seed};
    r.constraint = {kind, std::move(text)};
    if (kind == constraint_kind::json_object) {
        // Free strings: the random model rarely closes them by itself.
        r.sampling.logit_bias = {{byte_token('"'), 4.0f}, {byte_token('}'), 4.0f}};
    }
    return r;
}

// Submits all at once (so they batch) and waits for every result.
std::vector<radixrt::generation> run_all(radixrt::engine& eng, std::vector<radixrt::request> rs) {
    std::vector<std::shared_ptr<collector>> sinks;
    std::vector<std::shared_ptr<radixrt::stream_sink>> as_sinks;
    for (std::size_t i = 0; i < rs.size(); ++i) {
        sinks.push_back(std::make_shared<collector>());
        as_sinks.push_back(sinks.back());
    }
    auto h = eng.submit_all(std::move(rs), as_sinks);
    EXPECT_TRUE(h.has_value()) << (h ? "" : h.error().message);
    std::vector<radixrt::generation> out;
    if (!h) {
        return out;
    }
    for (auto& s : sinks) {
        out.push_back(s->get());
    }
    return out;
}

void expect_valid(const radixrt::generation& g, const std::string& schema) {
    SCOPED_TRACE(g.text);
    EXPECT_EQ(g.finish.reason, finish_reason::stop) << g.finish.message;
    json v;
    ASSERT_NO_THROW(v = json::parse(g.text));
    if (!schema.empty()) {
        EXPECT_TRUE(radixrt::test::validator(json::parse(schema)).valid(v));
    }
}

const char* const schemas[] = {
    R"({"type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":12},
        "age":{"type":"integer","minimum":0,"maximum":130},
        "tags":{"type":"array","items":{"enum":["a","b","c"]},"minItems":1,"maxItems":3}},
        "required":["name","age"],"additionalProperties":false})",
    R"({"type":"object","properties":{"id":{"type":"string","format":"uuid"},
        "day":{"type":"string","format":"date"},"ok":{"type":"boolean"},"n":{"type":"null"}},
        "required":["id","day","ok","n"]})",
    R"({"anyOf":[{"type":"integer","minimum":-20,"maximum":-3},{"const":"x"},
        {"type":"array","items":{"type":["integer","null"]},"maxItems":4}]})",
    R"({"type":"array","items":{"type":"string","maxLength":3},"minItems":2,"maxItems":4})",
    R"({"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer","minimum":0,"maximum":9},
        "kids":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},
        "required":["v"],"additionalProperties":false}},"$ref":"#/$defs/node"})",
    R"({"type":"object","properties":{"code":{"type":"string","pattern":"^[A-Z]{2}-[0-9]{3}$"},
        "x":{"type":"number"}},"required":["code","x"],"additionalProperties":false})",
};

} // namespace

TEST(constrained_engine, sampled_outputs_of_each_schema_parse_and_validate) {
    radixrt::engine eng(radixrt::engine_config{});
    for (const char* schema : schemas) {
        SCOPED_TRACE(schema);
        std::vector<radixrt::request> rs;
        for (std::uint64_t seed = 0; seed < 50; ++seed) { // 50 samples per schema (issue 12)
            rs.push_back(constrained(constraint_kind::json_schema, schema, seed));
        }
        for (const auto& g : run_all(eng, std::move(rs))) {
            expect_valid(g, schema);
        }
    }
}

TEST(constrained_engine, gbnf_and_regex_outputs_match_and_stop) {
    radixrt::engine eng(radixrt::engine_config{});
    const std::pair<constraint_kind, std::string> cases[] = {
        {constraint_kind::gbnf, "root ::= \"yes\" | \"no\" | \"n=\" [0-9]{1,3} \";\""},
        {constraint_kind::regex, "[a-z]{2,6}@(example|test)\\.(com|org)"},
        {constraint_kind::json_object, ""},
    };
    const std::regex expected[] = {std::regex("yes|no|n=[0-9]{1,3};"),
                                   std::regex("[a-z]{2,6}@(example|test)\\.(com|org)"),
                                   std::regex("\\{[^]*\\}[ \t\n]*")};
    for (std::size_t c = 0; c < std::size(cases); ++c) {
        std::vector<radixrt::request> rs;
        for (std::uint64_t seed = 0; seed < 10; ++seed) {
            rs.push_back(constrained(cases[c].first, cases[c].second, seed));
        }
        for (const auto& g : run_all(eng, std::move(rs))) {
            EXPECT_EQ(g.finish.reason, finish_reason::stop) << cases[c].second << " " << g.text;
            EXPECT_TRUE(std::regex_match(g.text, expected[c])) << cases[c].second << " " << g.text;
            if (cases[c].first == constraint_kind::json_object) {
                EXPECT_NO_THROW(EXPECT_TRUE(json::parse(g.text).is_object())) << g.text;
            }
        }
    }
}

// A complete grammar that may continue ends when the model picks EOS (the
// only place it is allowed: a strong bias towards it does not end the
// output early); max_tokens cutting an output says `length`.
TEST(constrained_engine, eos_at_completion_stops_and_max_tokens_says_length) {
    radixrt::engine eng(radixrt::engine_config{});
    std::vector<radixrt::request> rs;
    for (std::uint64_t seed = 0; seed < 10; ++seed) {
        rs.push_back(constrained(constraint_kind::regex, "[a-c]{2}[a-c]*", seed, 300));
        rs.back().sampling.logit_bias = {{eos_token, 30.0f}};
    }
    for (const auto& g : run_all(eng, std::move(rs))) {
        EXPECT_EQ(g.finish.reason, finish_reason::stop) << g.text;
        EXPECT_TRUE(std::regex_match(g.text, std::regex("[a-c]{2}"))) << g.text;
    }
    auto cut = eng.generate(constrained(constraint_kind::json_schema, schemas[0], 1, 5));
    ASSERT_TRUE(cut);
    EXPECT_EQ(cut->finish.reason, finish_reason::length);
    EXPECT_EQ(cut->tokens.size(), 5u);
    EXPECT_EQ(cut->text.substr(0, 1), "{");
}

TEST(constrained_engine, bad_constraints_name_the_field_and_keyword) {
    radixrt::engine eng(radixrt::engine_config{});
    struct row {
        constraint_kind kind;
        const char* text;
        const char* param;
        const char* in_message;
    };
    const row rows[] = {
        {constraint_kind::gbnf, "root ::= foo", "grammar", "foo"},
        {constraint_kind::gbnf, "root ::= \"a", "grammar", "1:"},
        {constraint_kind::gbnf, "rot ::= \"a\"", "grammar", "root"},
        {constraint_kind::json_schema, R"({"type":"object","patternProperties":{}})", "json_schema",
         "'patternProperties'"},
        {constraint_kind::json_schema, R"({"type":"string","pattern":"(?=a)b"})", "json_schema",
         "'pattern'"},
        {constraint_kind::json_schema, R"({"type":"string","format":"email"})", "json_schema",
         "'format'"},
        {constraint_kind::json_schema, R"({"type":)", "json_schema", "JSON Schema"},
        {constraint_kind::regex, "(a", "regex", "regex"},
        {constraint_kind::regex, "(?!x)y", "regex", "regex"},
    };
    for (const auto& r : rows) {
        auto got = eng.generate(constrained(r.kind, r.text, 0));
        ASSERT_FALSE(got) << r.text;
        EXPECT_EQ(got.error().code, radixrt::errc::invalid_request) << r.text;
        EXPECT_EQ(got.error().param, r.param) << r.text;
        EXPECT_NE(got.error().message.find(r.in_message), std::string::npos)
            << r.text << " -> " << got.error().message;
    }
    // The caller's own field name, and all-or-nothing submission.
    auto named = constrained(constraint_kind::json_schema, R"({"not":{}})", 0);
    named.constraint.param = "response_format.json_schema.schema";
    std::vector<radixrt::request> rs{constrained(constraint_kind::regex, "a", 0), named};
    auto h = eng.submit_all(std::move(rs),
                            {std::make_shared<collector>(), std::make_shared<collector>()});
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().param, "response_format.json_schema.schema");
    EXPECT_NE(h.error().message.find("request 1: JSON Schema keyword 'not'"), std::string::npos)
        << h.error().message;
}

namespace {

// A mix of constrained (every kind) and free requests, each with its seed.
std::vector<radixrt::request> mixed_requests(std::size_t n, std::size_t max_tokens) {
    std::vector<radixrt::request> rs;
    for (std::size_t i = 0; i < n; ++i) {
        const auto seed = 1000 + i;
        switch (i % 4) {
        case 0:
            rs.push_back(constrained(constraint_kind::json_schema,
                                     schemas[i / 4 % std::size(schemas)], seed, max_tokens));
            break;
        case 1:
            rs.push_back(constrained(constraint_kind::json_object, "", seed, max_tokens));
            break;
        case 2:
            rs.push_back(constrained(constraint_kind::regex,
                                     "[a-z]{2,6}@(example|test)\\.(com|org)", seed, max_tokens));
            break;
        default:
            rs.push_back(constrained(constraint_kind::none, "", seed, 40));
            break;
        }
        rs.back().prompt += std::string(i % 3, '!'); // different prompts, one shared prefix
    }
    return rs;
}

// Each output equals the same request run alone (batch invariance), and
// the constrained ones are valid.
void expect_same_as_alone(radixrt::engine& alone_eng, const std::vector<radixrt::request>& rs,
                          const std::vector<radixrt::generation>& got) {
    ASSERT_EQ(got.size(), rs.size());
    for (std::size_t i = 0; i < rs.size(); ++i) {
        SCOPED_TRACE("request " + std::to_string(i));
        auto ref = alone_eng.generate(rs[i]);
        ASSERT_TRUE(ref);
        EXPECT_EQ(got[i].tokens, ref->tokens);
        EXPECT_EQ(got[i].finish.reason, ref->finish.reason);
        if (rs[i].constraint.kind == constraint_kind::json_schema) {
            expect_valid(got[i], rs[i].constraint.text);
        } else if (rs[i].constraint.kind == constraint_kind::json_object) {
            expect_valid(got[i], "{\"type\":\"object\"}");
        } else if (rs[i].constraint.kind == constraint_kind::regex) {
            EXPECT_EQ(got[i].finish.reason, finish_reason::stop);
            EXPECT_TRUE(std::regex_match(got[i].text, std::regex(rs[i].constraint.text)));
        }
    }
}

} // namespace

TEST(constrained_engine, batched_with_free_requests_each_stays_correct) {
    radixrt::engine eng(radixrt::engine_config{});
    const auto rs = mixed_requests(24, 600);
    const auto got = run_all(eng, rs);
    expect_same_as_alone(eng, rs, got);
}

// KV bytes per block of the built-in model (F16): 4 layers x 2 x 4 kv heads
// x 32 dims x 2 bytes x 16 tokens.
constexpr std::size_t block_bytes = 4 * 2 * 4 * 32 * 2 * 16;

// The grammar processor's state survives preemption (its sampler, with the
// generated tokens, moves with the request; only the KV is recomputed).
TEST(constrained_engine, preempted_requests_still_parse) {
    radixrt::engine_config small;
    small.kv_cache_bytes = 14 * block_bytes; // 224 tokens for 12 requests
    radixrt::engine eng(small);
    const auto rs = mixed_requests(12, 200);
    const auto got = run_all(eng, rs);
    EXPECT_GT(eng.stats().preemptions, 0u); // the pool really ran out
    radixrt::engine roomy(radixrt::engine_config{});
    expect_same_as_alone(roomy, rs, got);
}

TEST(constrained_engine, same_prompt_twice_uses_the_prefix_cache) {
    radixrt::engine eng(radixrt::engine_config{});
    auto r = constrained(constraint_kind::json_schema, schemas[1], 7);
    r.prompt = "A long shared system prompt, long enough to fill a few KV blocks: " + r.prompt;
    auto first = eng.generate(r);
    auto second = eng.generate(r);
    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->finish.usage.cached_tokens, 0u);
    EXPECT_GE(second->finish.usage.cached_tokens, 64u);
    EXPECT_EQ(first->tokens, second->tokens);
    expect_valid(*second, schemas[1]);
}

namespace {

// Says done once `n` tokens are out.
class stop_after : public radixrt::logit_processor {
  public:
    explicit stop_after(std::size_t n) : n_(n) {}
    void process(std::span<const std::int32_t>, std::span<float>) override {}
    bool done(std::span<const std::int32_t> generated) override { return generated.size() >= n_; }

  private:
    std::size_t n_;
};

} // namespace

// A processor's done ends the request with `stop` after that token (which
// is emitted), also when the same token reaches max_tokens.
TEST(constrained_engine, processor_done_stops_after_the_token) {
    radixrt::engine eng(radixrt::engine_config{});
    for (std::size_t max_tokens : {3, 10}) {
        auto r = constrained(constraint_kind::none, "", 0, max_tokens);
        r.ignore_eos = true;
        r.logit_processors.push_back(std::make_shared<stop_after>(3));
        auto g = eng.generate(r);
        ASSERT_TRUE(g);
        EXPECT_EQ(g->finish.reason, finish_reason::stop);
        EXPECT_EQ(g->tokens.size(), 3u);
    }
}

TEST(constraint_compiler, caches_grammars_and_shares_one_trie) {
    const auto model = radixrt::runtime::builtin_model();
    const auto tok = radixrt::runtime::tokenizer::from_gguf(model->file());
    radixrt::actors::constraint_compiler cc(tok, 2);
    const radixrt::output_constraint a{constraint_kind::regex, "a+"},
        b{constraint_kind::regex, "b"}, c{constraint_kind::gbnf, "root ::= \"c\""};
    const auto ga = cc.compile(a);
    ASSERT_TRUE(ga);
    EXPECT_EQ(cc.compile(a).value(), *ga); // cached
    EXPECT_NE(cc.compile(b).value(), *ga);
    EXPECT_EQ(cc.compile(a).value(), *ga); // a is now the most recent
    EXPECT_TRUE(cc.compile(c));            // evicts b, the least recent
    EXPECT_EQ(cc.cached(), 2u);
    EXPECT_EQ(cc.compile(a).value(), *ga);
    EXPECT_FALSE(cc.compile({constraint_kind::regex, "("}));
    EXPECT_EQ(cc.cached(), 2u); // errors are not cached
    std::vector<std::shared_ptr<const radixrt::runtime::token_trie>> tries(4);
    std::vector<std::thread> threads;
    for (auto& t : tries) {
        threads.emplace_back([&cc, &t] { t = cc.vocabulary(); });
    }
    for (auto& th : threads) {
        th.join();
    }
    for (const auto& t : tries) {
        EXPECT_EQ(t, tries[0]);
    }
    EXPECT_EQ(cc.processor({}).value(), nullptr);
    EXPECT_NE(cc.processor(a).value(), cc.processor(a).value()); // one per sequence
}

// Preserved control tokens: shown as their text and allowed by a grammar
// where that text fits; unpreserved, the same grammar spells it in bytes.
TEST(constrained_engine, preserved_control_tokens_are_shown_and_matched_as_text) {
    radixrt::engine eng(radixrt::engine_config{});
    const auto ids = eng.tokenize("<|im_start|>", false, true);
    ASSERT_EQ(ids.size(), 1u);
    const std::int32_t marker = ids[0];
    EXPECT_EQ(eng.token_text(marker), ""); // a control token: invisible by default
    auto r = constrained(constraint_kind::gbnf, R"(root ::= "<|im_start|>" [a-z]{3})", 1);
    r.sampling.logit_bias = {{marker, 50.0f}};
    auto plain = r;
    r.preserved_tokens = {"<|im_start|>", "<not a token>"};
    const auto out = run_all(eng, {r, plain});
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].tokens.front(), marker);
    EXPECT_TRUE(std::regex_match(out[0].text, std::regex("<\\|im_start\\|>[a-z]{3}")))
        << out[0].text;
    EXPECT_EQ(out[0].finish.reason, finish_reason::stop);
    EXPECT_NE(out[1].tokens.front(), marker); // masked: spelled byte by byte
    EXPECT_TRUE(std::regex_match(out[1].text, std::regex("<\\|im_start\\|>[a-z]{3}")))
        << out[1].text;
}

// A lazy constraint: free text until the trigger, then the grammar, which
// ends the request when complete.
TEST(constrained_engine, a_lazy_constraint_starts_at_its_trigger) {
    radixrt::engine eng(radixrt::engine_config{});
    std::vector<radixrt::request> rs;
    for (std::uint64_t seed = 0; seed < 8; ++seed) {
        auto r = constrained(constraint_kind::gbnf, R"(root ::= "@" [0-9]{4} ";")", seed, 200);
        r.constraint.triggers = {{"@", false}};
        r.sampling.logit_bias = {{byte_token('@'), 8.0f}}; // reached within a few tokens
        rs.push_back(std::move(r));
    }
    for (const auto& g : run_all(eng, std::move(rs))) {
        SCOPED_TRACE(g.text);
        const auto at = g.text.find('@');
        ASSERT_NE(at, std::string::npos);
        EXPECT_TRUE(std::regex_match(g.text.substr(at), std::regex("@[0-9]{4};")));
        EXPECT_EQ(g.finish.reason, finish_reason::stop);
    }
    auto bad = constrained(constraint_kind::none, "", 0);
    bad.constraint.triggers = {{"@", false}};
    auto sink = std::make_shared<collector>();
    const auto refused = eng.submit(bad, sink);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, radixrt::errc::invalid_request);
}
