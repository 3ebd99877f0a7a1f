#include "runtime/stop_checker.hpp"

#include <gtest/gtest.h>

#include "runtime/synthetic.hpp"

namespace rr = radixrt::runtime;

namespace {
// The byte-level vocabulary: one token per byte, so text maps to tokens exactly.
const rr::tokenizer& bytes_tok() {
    static const auto tok = [] {
        auto spec = rr::synth_preset("tiny");
        return rr::tokenizer::from_gguf(rr::gguf_file::from_bytes(rr::synth_gguf(spec).bytes()));
    }();
    return tok;
}

// Feeds text token by token; returns everything released and whether it stopped.
std::pair<std::string, bool> run(const std::string& text, std::vector<std::string> stops) {
    rr::stop_checker sc(bytes_tok(), std::move(stops));
    std::string out;
    for (auto id : bytes_tok().encode(text, false)) {
        auto s = sc.push(id);
        out += s.text;
        if (s.stopped) {
            return {out, true};
        }
    }
    return {out + sc.flush(), false};
}
} // namespace

TEST(stop_checker, stops_before_a_stop_string_spanning_tokens) {
    EXPECT_EQ(run("Hello world. END more", {"END"}),
              std::make_pair(std::string("Hello world. "), true));
    EXPECT_EQ(run("abc", {"bc", "c"}), std::make_pair(std::string("a"), true)); // earliest wins
    EXPECT_EQ(run("no stop here", {"xyz"}), std::make_pair(std::string("no stop here"), false));
    EXPECT_EQ(run("almost EN", {"END"}),
              std::make_pair(std::string("almost EN"), false)); // released at the end
}

TEST(stop_checker, never_emits_text_that_may_start_a_stop_string) {
    rr::stop_checker sc(bytes_tok(), {"STOP"});
    std::string released;
    for (auto id : bytes_tok().encode("aSTO", false)) {
        released += sc.push(id).text;
    }
    EXPECT_EQ(released, "a"); // "STO" may still become "STOP"
    auto s = sc.push(bytes_tok().encode("X", false)[0]);
    EXPECT_EQ(s.text, "STOX");
    EXPECT_FALSE(s.stopped);
}

TEST(stop_checker, utf8_is_never_split) {
    auto [out, stopped] = run("日本語の文", {"語の"});
    EXPECT_TRUE(stopped);
    EXPECT_EQ(out, "日本");
}
