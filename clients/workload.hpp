#pragma once
// The requests a benchmark sends: shared-prefix groups (as SGLang's
// generated-shared-prefix benchmark), random lengths, multi-turn
// conversations, or a replayed JSONL trace.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace radixrt::clients {

struct bench_request {
    std::vector<std::int32_t> prompt_ids; // sent as ids (or detokenized by the server, see text)
    std::string text;                     // used instead when not empty
    std::size_t max_tokens = 32;
    double at = -1;        // trace: seconds after the start (else by --request-rate)
    int conversation = -1; // multi-turn: turns of one conversation run in order
    std::size_t turn = 0;
};

struct workload_options {
    std::string kind = "shared-prefix"; // shared-prefix | random | multi-turn | trace
    std::size_t groups = 8, prompts_per_group = 16, system_len = 512, question_len = 32,
                output_len = 32;
    double range_ratio = 1.0;                 // lengths drawn from [ratio * len, len]
    std::size_t num_prompts = 128;            // random
    std::size_t input_len = 256;              // random
    std::size_t conversations = 8, turns = 4; // multi-turn
    std::string trace_file;
    std::size_t vocab_size = 32000; // ids are drawn from [3, vocab)
    std::uint64_t seed = 1;
};

/// Builds the requests (shuffled with the seed where order is free). Throws
/// std::runtime_error for an unknown kind or an unreadable trace.
std::vector<bench_request> make_workload(const workload_options& o);

} // namespace radixrt::clients
