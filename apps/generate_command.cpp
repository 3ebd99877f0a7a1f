#include <charconv>
#include <chrono>
#include <iomanip>
#include <ostream>

#include "apps/args.hpp"
#include "apps/commands.hpp"
#include "kernels/parallel.hpp"
#include "runtime/generate.hpp"
#include "runtime/synthetic.hpp"

namespace radixrt::apps {
namespace {

std::vector<runtime::token_id> parse_ids(const std::string& s) {
    std::vector<runtime::token_id> ids;
    std::size_t pos = 0;
    while (pos <= s.size()) {
        const auto comma = std::min(s.find(',', pos), s.size());
        runtime::token_id v = 0;
        auto [p, ec] = std::from_chars(s.data() + pos, s.data() + comma, v);
        if (ec != std::errc() || p != s.data() + comma) {
            throw usage_error("--prompt-ids expects comma-separated token ids, got '" + s + "'");
        }
        ids.push_back(v);
        pos = comma + 1;
    }
    return ids;
}

} // namespace

int run_generate(std::vector<std::string> argv, std::ostream& out, std::ostream& err) {
    args a(std::move(argv));
    const auto model_path = a.value("model");
    const auto prompt_text = a.value("prompt");
    const auto prompt_ids = a.value("prompt-ids");
    runtime::generate_options opt;
    opt.max_tokens = a.uint("max-tokens", 128, 1u << 20);
    opt.ignore_eos = a.flag("ignore-eos");
    opt.sampling.temperature = float(a.number("temperature", 0.8, 0.0, 100.0));
    opt.sampling.top_k = a.uint("top-k", 40, 1u << 24);
    opt.sampling.top_p = float(a.number("top-p", 0.95, 0.0, 1.0));
    opt.sampling.min_p = float(a.number("min-p", 0.05, 0.0, 1.0));
    opt.sampling.repetition_penalty = float(a.number("repetition-penalty", 1.0, 0.01, 100.0));
    opt.sampling.seed = a.uint("seed", 0);
    const std::size_t threads = a.uint("threads", 0, 1024);
    const bool print_ids = a.flag("print-ids");
    a.finish();
    if (prompt_text.has_value() == prompt_ids.has_value()) {
        throw usage_error("give exactly one of --prompt and --prompt-ids");
    }
    std::optional<kernels::thread_limit> limit;
    if (threads > 0) {
        limit.emplace(threads);
    }

    auto model = model_path ? runtime::model::load(*model_path) : runtime::builtin_model();
    const auto tok = runtime::tokenizer::from_gguf(model->file());
    const auto prompt = prompt_ids ? parse_ids(*prompt_ids) : tok.encode(*prompt_text, true);
    for (auto id : prompt) {
        if (id < 0 || std::size_t(id) >= model->config().vocab_size) {
            throw usage_error("token id " + std::to_string(id) +
                              " is outside the vocabulary (size " +
                              std::to_string(model->config().vocab_size) + ")");
        }
    }
    runtime::forward_pass fwd(model);
    runtime::stream_decoder dec(tok);
    bool first = true;
    auto res = runtime::generate(fwd, tok, prompt, opt, [&](runtime::token_id id, float) {
        if (print_ids) {
            out << (first ? "" : " ") << id;
        } else {
            out << dec.push(id);
        }
        out.flush();
        first = false;
        return true;
    });
    out << (print_ids ? "" : dec.flush()) << "\n";
    err << std::fixed << std::setprecision(1) << "prompt: " << prompt.size() << " tokens, "
        << double(prompt.size()) / std::max(res.prefill_seconds, 1e-9)
        << " tok/s | generated: " << res.tokens.size() << " tokens, "
        << double(res.tokens.size()) / std::max(res.decode_seconds, 1e-9)
        << " tok/s | finish: " << radixrt::to_string(res.reason) << "\n";
    return 0;
}

} // namespace radixrt::apps
