#include "apps/commands.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/apps/run_cli.hpp"

namespace ra = radixrt::apps;

namespace {

using radixrt::test::cli;
using result = radixrt::test::cli_result;

const std::string models = std::string(RADIXRT_TESTDATA_DIR) + "/models/";

std::string temp_path(const std::string& name) {
    // the pid keeps concurrent runs (release and sanitizer builds) apart
    return (std::filesystem::temp_directory_path() /
            ("radixrt_cli_test_" + std::to_string(::getpid()) + "_" + name))
        .string();
}

} // namespace

TEST(cli, generate_prints_llama_cpp_greedy_ids) {
    std::ifstream f(models + "tiny-spm-f16.golden.json");
    const auto golden = nlohmann::json::parse(f)["cases"][0];
    std::string ids;
    for (const auto& id : golden["prompt_ids"]) {
        ids += (ids.empty() ? "" : ",") + std::to_string(id.get<int>());
    }
    auto r = cli({"generate", "--model", models + "tiny-spm-f16.gguf", "--prompt-ids", ids,
                  "--max-tokens", "6", "--temperature", "0", "--print-ids", "--ignore-eos"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::string want;
    for (int i = 0; i < 6; ++i) {
        ASSERT_GE(golden["top2_logprob_gap"][i].get<double>(), 0.01); // unambiguous positions
        want += (i ? " " : "") + std::to_string(golden["completion_ids"][i].get<int>());
    }
    EXPECT_EQ(r.out, want + "\n");
    EXPECT_NE(r.err.find("tok/s"), std::string::npos);
}

TEST(cli, generate_text_on_builtin_model) {
    auto r = cli({"generate", "--prompt", "Hello", "--max-tokens", "5", "--seed", "3"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_FALSE(r.out.empty());
    EXPECT_NE(r.err.find("generated: 5 tokens"), std::string::npos) << r.err;
}

TEST(cli, synth_then_info_then_generate) {
    const auto path = temp_path("synth.gguf");
    auto s = cli(
        {"model", "synth", "--out", path, "--preset", "tiny", "--type", "q8_0", "--layers", "3"});
    ASSERT_EQ(s.code, 0) << s.err;
    auto i = cli({"model", "info", path});
    ASSERT_EQ(i.code, 0) << i.err;
    EXPECT_NE(i.out.find("llama, 3 layers, dim 64"), std::string::npos) << i.out;
    EXPECT_NE(i.out.find("Q8_0"), std::string::npos) << i.out;
    auto g = cli({"generate", "--model", path, "--prompt", "abc", "--max-tokens", "3",
                  "--temperature", "0"});
    EXPECT_EQ(g.code, 0) << g.err;
    // a real vocabulary copied in
    auto v = cli({"model", "synth", "--out", path, "--preset", "tiny", "--vocab-from",
                  std::string(RADIXRT_TESTDATA_DIR) + "/vocab/ggml-vocab-llama-spm.gguf"});
    ASSERT_EQ(v.code, 0) << v.err;
    EXPECT_NE(cli({"model", "info", path}).out.find("32000 tokens"), std::string::npos);
    std::filesystem::remove(path);
}

TEST(cli, bad_input_gives_clear_errors) {
    struct bad {
        std::vector<std::string> args;
        int code;
        std::string says;
    };
    const auto corrupt = temp_path("corrupt.gguf");
    {
        std::ofstream f(corrupt, std::ios::binary);
        f << "GGUF\x03\0\0\0garbage";
    }
    const std::vector<bad> cases = {
        {{}, 2, "usage"},
        {{"frobnicate"}, 2, "unknown command 'frobnicate'"},
        {{"generate", "--prompt", "x", "--bogus"}, 2, "unknown argument '--bogus'"},
        {{"generate", "--prompt", "x", "--temperature", "hot"},
         2,
         "--temperature expects a number"},
        {{"generate", "--prompt", "x", "--max-tokens"}, 2, "--max-tokens needs a value"},
        {{"generate", "--prompt", "x", "--max-tokens", "5", "--max-tokens", "many"},
         2,
         "got 'many'"}, // the last wins
        {{"generate"}, 2, "exactly one of --prompt and --prompt-ids"},
        {{"generate", "--prompt-ids", "1,x"}, 2, "comma-separated"},
        {{"generate", "--prompt-ids", "1,999999"}, 2, "outside the vocabulary"},
        {{"generate", "--model", "/no/such.gguf", "--prompt", "x"}, 1, "cannot open"},
        {{"generate", "--model", corrupt, "--prompt", "x"}, 1, "truncated"},
        {{"model", "info"}, 2, "one FILE.gguf"},
        {{"model", "synth", "--preset", "huge", "--out", corrupt}, 1, "unknown preset"},
        {{"model", "synth", "--type", "q4", "--out", corrupt}, 2, "--type must be one of"},
        {{"model", "synth", "--dim", "65", "--out", corrupt}, 1, "impossible model shape"},
    };
    for (const auto& c : cases) {
        auto r = cli(c.args);
        EXPECT_EQ(r.code, c.code) << r.err;
        EXPECT_NE(r.err.find(c.says), std::string::npos)
            << "expected '" << c.says << "' in: " << r.err;
    }
    std::filesystem::remove(corrupt);
}

TEST(cli, quantize_then_info_then_generate) {
    const auto out = temp_path("q4km.gguf");
    auto r = cli({"model", "quantize", models + "small-f16.gguf", out, "q4_k_m"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("100%"), std::string::npos); // the progress bar reached the end
    r = cli({"model", "info", out});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("Q4_K"), std::string::npos);
    EXPECT_NE(r.out.find("Q6_K"), std::string::npos);
    r = cli({"generate", "--model", out, "--prompt", "Once upon a time", "--max-tokens", "4",
             "--temperature", "0", "--print-ids"});
    EXPECT_EQ(r.code, 0) << r.err;
    // synth straight to a mix, as `model quantize` would make it
    const auto synth = temp_path("synth-q5km.gguf");
    r = cli({"model", "synth", "--preset", "tiny", "--dim", "256", "--ffn", "512", "--type",
             "q5_k_m", "--out", synth});
    ASSERT_EQ(r.code, 0) << r.err;
    r = cli({"model", "info", synth});
    EXPECT_NE(r.out.find("Q5_K"), std::string::npos);
    // clear errors
    r = cli({"model", "quantize", models + "small-f16.gguf", out, "q3_xs"});
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("q4_k_m"), std::string::npos); // lists what is possible
    r = cli({"model", "quantize", "/nonexistent.gguf", out, "q8_0"});
    EXPECT_NE(r.code, 0);
    std::filesystem::remove(out);
    std::filesystem::remove(synth);
}

TEST(cli, help_anywhere_prints_usage_and_succeeds) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--help"}, "radixrt model quantize"},
        {{"serve", "--help"}, "radixrt serve"},
        {{"model", "quantize", "-h"}, "radixrt model quantize"},
        {{"generate", "-h"}, "radixrt generate"}};
    for (const auto& [args, says] : cases) {
        const auto r = cli(args);
        EXPECT_EQ(r.code, 0) << args[0];
        EXPECT_NE(r.out.find(says), std::string::npos) << args[0];
        EXPECT_TRUE(r.err.empty()) << r.err;
    }
}
