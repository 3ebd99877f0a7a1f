#include "clients/workload.hpp"

#include <algorithm>
#include <fstream>
#include <random>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace radixrt::clients {

namespace {

struct gen {
    std::mt19937_64 rng;
    std::size_t vocab;
    std::int32_t token() { return std::int32_t(3 + rng() % std::max<std::size_t>(1, vocab - 3)); }
    std::vector<std::int32_t> tokens(std::size_t n) {
        std::vector<std::int32_t> t(n);
        for (auto& x : t) {
            x = token();
        }
        return t;
    }
    // A length in [ratio * len, len].
    std::size_t length(std::size_t len, double ratio) {
        const auto lo = std::size_t(double(len) * std::clamp(ratio, 0.0, 1.0));
        return lo >= len ? len : lo + rng() % (len - lo + 1);
    }
};

} // namespace

std::vector<bench_request> make_workload(const workload_options& o) {
    gen g{std::mt19937_64(o.seed), o.vocab_size};
    std::vector<bench_request> out;
    if (o.kind == "shared-prefix") {
        for (std::size_t gi = 0; gi < o.groups; ++gi) {
            const auto system = g.tokens(o.system_len);
            for (std::size_t k = 0; k < o.prompts_per_group; ++k) {
                bench_request r;
                r.prompt_ids = system;
                const auto q = g.tokens(g.length(o.question_len, o.range_ratio));
                r.prompt_ids.insert(r.prompt_ids.end(), q.begin(), q.end());
                r.max_tokens = g.length(o.output_len, o.range_ratio);
                out.push_back(std::move(r));
            }
        }
        std::shuffle(out.begin(), out.end(), g.rng);
    } else if (o.kind == "random") {
        for (std::size_t i = 0; i < o.num_prompts; ++i) {
            bench_request r;
            r.prompt_ids = g.tokens(std::max<std::size_t>(1, g.length(o.input_len, o.range_ratio)));
            r.max_tokens = std::max<std::size_t>(1, g.length(o.output_len, o.range_ratio));
            out.push_back(std::move(r));
        }
    } else if (o.kind == "multi-turn") {
        // Turn t's prompt is turn t-1's prompt, an answer-sized stand-in for
        // its answer, and a new question: every turn extends the previous one.
        for (std::size_t c = 0; c < o.conversations; ++c) {
            std::vector<std::int32_t> context = g.tokens(o.system_len);
            for (std::size_t t = 0; t < o.turns; ++t) {
                const auto q = g.tokens(g.length(o.question_len, o.range_ratio));
                context.insert(context.end(), q.begin(), q.end());
                bench_request r;
                r.prompt_ids = context;
                r.max_tokens = o.output_len;
                r.conversation = int(c);
                r.turn = t;
                out.push_back(r);
                const auto a = g.tokens(o.output_len);
                context.insert(context.end(), a.begin(), a.end());
            }
        }
    } else if (o.kind == "trace") {
        std::ifstream f(o.trace_file);
        if (!f) {
            throw std::runtime_error("cannot read trace '" + o.trace_file + "'");
        }
        std::size_t line_no = 0;
        for (std::string line; std::getline(f, line);) {
            ++line_no;
            if (line.find_first_not_of(" \t\r") == std::string::npos) {
                continue;
            }
            const auto j = nlohmann::json::parse(line, nullptr, false);
            if (j.is_discarded() || !j.is_object()) {
                throw std::runtime_error(o.trace_file + ":" + std::to_string(line_no) +
                                         ": not a JSON object");
            }
            bench_request r;
            r.at = j.value("timestamp", 0.0);
            r.max_tokens = j.value("max_tokens", o.output_len);
            if (j.contains("input_ids") && j["input_ids"].is_array()) {
                r.prompt_ids = j["input_ids"].get<std::vector<std::int32_t>>();
            } else if (j.contains("prompt") && j["prompt"].is_string()) {
                r.text = j["prompt"].get<std::string>();
            } else {
                throw std::runtime_error(o.trace_file + ":" + std::to_string(line_no) +
                                         ": needs \"prompt\" or \"input_ids\"");
            }
            out.push_back(std::move(r));
        }
        std::stable_sort(out.begin(), out.end(),
                         [](const auto& a, const auto& b) { return a.at < b.at; });
    } else {
        throw std::runtime_error("unknown workload '" + o.kind +
                                 "' (shared-prefix, random, multi-turn, trace)");
    }
    return out;
}

} // namespace radixrt::clients
