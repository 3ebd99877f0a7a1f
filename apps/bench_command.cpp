#include <charconv>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <ostream>

#include "apps/args.hpp"
#include "apps/commands.hpp"
#include "clients/bench.hpp"

namespace radixrt::apps {

namespace {

// --api-key, else RADIXRT_API_KEY (as serve reads it), else none.
std::string api_key_of(args& a) {
    const char* env = std::getenv("RADIXRT_API_KEY");
    return a.str("api-key", env != nullptr ? env : "");
}

} // namespace

int run_bench(std::vector<std::string> argv, std::ostream& out, std::ostream& err) {
    args a(std::move(argv));
    clients::bench_options o;
    o.server = clients::parse_base_url(a.str("base-url", "http://127.0.0.1:8080"));
    o.server.endpoint = a.str("endpoint", "completions");
    if (o.server.endpoint != "completions" && o.server.endpoint != "chat" &&
        o.server.endpoint != "generate" && o.server.endpoint != "ws") {
        throw usage_error("--endpoint must be completions, chat, generate or ws");
    }
    o.server.api_key = api_key_of(a);
    o.server.model = a.str("model", "");
    o.server.ignore_eos = !a.flag("respect-eos");
    o.server.temperature = a.number("temperature", 0.0, 0.0, 2.0);
    auto& w = o.workload;
    w.kind = a.str("workload", "shared-prefix");
    w.groups = a.uint("groups", w.groups, 1u << 20);
    w.prompts_per_group = a.uint("prompts-per-group", w.prompts_per_group, 1u << 20);
    w.system_len = a.uint("system-len", w.system_len, 1u << 20);
    w.question_len = a.uint("question-len", w.question_len, 1u << 20);
    w.output_len = a.uint("output-len", w.output_len, 1u << 20);
    w.range_ratio = a.number("range-ratio", w.range_ratio, 0.0, 1.0);
    w.num_prompts = a.uint("num-prompts", w.num_prompts, 1u << 24);
    w.input_len = a.uint("input-len", w.input_len, 1u << 20);
    w.conversations = a.uint("conversations", w.conversations, 1u << 20);
    w.turns = a.uint("turns", w.turns, 1u << 10);
    w.trace_file = a.str("trace", "");
    w.vocab_size = a.uint("vocab-size", w.vocab_size, 1u << 24);
    w.seed = a.uint("seed", w.seed);
    o.request_rate = std::numeric_limits<double>::infinity();
    if (const auto rate = a.value("request-rate"); rate && *rate != "inf") {
        const auto end = rate->data() + rate->size();
        auto [p, ec] = std::from_chars(rate->data(), end, o.request_rate);
        if (ec != std::errc() || p != end || !(o.request_rate > 0)) {
            throw usage_error("--request-rate expects a positive number or inf, got '" + *rate +
                              "'");
        }
    }
    o.max_concurrency = a.uint("max-concurrency", 0, 1u << 16);
    o.warmup = a.uint("warmup", 0, 1u << 20);
    o.duration = a.number("duration", 0, 0, 1e7);
    o.timeout = a.number("timeout", 600, 0.001, 1e7);
    o.prompt_format = a.str("prompt-format", "ids");
    o.progress = !a.flag("no-progress");
    const auto json_path = a.value("output-json");
    a.finish();
    if (w.kind == "trace" && w.trace_file.empty()) {
        throw usage_error("--workload trace needs --trace FILE.jsonl");
    }
    const auto report = clients::run_bench(o, err);
    out << clients::format_report(report, o);
    if (json_path) {
        std::ofstream f(*json_path, std::ios::app);
        f << clients::report_json(report, o) << "\n";
        if (!f) {
            throw std::runtime_error("cannot write '" + *json_path + "'");
        }
    }
    return report.completed > 0 || report.sent == 0 ? 0 : 1;
}

int run_client(std::vector<std::string> argv, std::ostream& out, std::ostream& err) {
    args a(std::move(argv));
    auto t = clients::parse_base_url(a.str("base-url", "http://127.0.0.1:8080"));
    t.endpoint = a.flag("chat") ? "chat" : a.flag("ws") ? "ws" : "completions";
    t.api_key = api_key_of(a);
    t.ignore_eos = a.flag("ignore-eos");
    t.temperature = a.number("temperature", 0.7, 0.0, 2.0);
    clients::bench_request r;
    r.text = a.str("prompt", "Once upon a time");
    r.max_tokens = a.uint("max-tokens", 128, 1u << 20);
    a.finish();
    // Stream through the same transport, printing text as it arrives.
    auto res = clients::execute(t, r, clients::clock_type::now() + std::chrono::minutes(10));
    if (!res.ok) {
        err << "radixrt client: " << res.error << "\n";
        return 1;
    }
    out << res.text << "\n";
    err << "ttft " << res.ttft * 1e3 << " ms, " << res.output_tokens << " tokens in " << res.e2e
        << " s";
    if (res.usage_seen) {
        err << ", " << res.cached_tokens << " of " << res.prompt_tokens
            << " prompt tokens from cache";
    }
    err << "\n";
    return 0;
}

} // namespace radixrt::apps
