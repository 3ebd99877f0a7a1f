#include "actors/forward_executor.hpp"

#include <chrono>

#include "kernels/parallel.hpp"
#include "runtime/sampler.hpp"

namespace radixrt::actors {

using namespace runtime;

forward_executor::forward_executor(std::shared_ptr<const model> m, std::shared_ptr<kv_storage> kv,
                                   std::size_t threads, std::string name)
    : fwd_(std::move(m)), kv_(std::move(kv)), arena_(int(std::max<std::size_t>(1, threads))),
      name_(std::move(name)), guard_(asio::make_work_guard(ioc_)), thread_([this] { ioc_.run(); }) {
}

forward_executor::~forward_executor() {
    stop();
}

void forward_executor::stop() {
    guard_.reset();
    if (thread_.joinable()) {
        thread_.join();
    }
}

asio::awaitable<step_result> forward_executor::run(step_batch batch) {
    const auto t0 = std::chrono::steady_clock::now();
    step_result out;
    arena_.execute([&] { out = compute(batch); });
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    co_return out;
}

namespace {

// Prompt scoring: the log-probability of each target under its row's logits
// (the model's own, at temperature 1), with the top alternatives.
std::vector<prompt_token_logprob> score(std::span<const float> rows, std::size_t vocab,
                                        std::span<const token_id> targets, std::size_t top) {
    std::vector<prompt_token_logprob> out;
    for (std::size_t j = 0; j < targets.size(); ++j) {
        if (targets[j] < 0 || std::size_t(targets[j]) >= vocab) {
            continue;
        }
        const auto row = rows.subspan(j * vocab, vocab);
        const float log_z = log_sum_exp(row);
        prompt_token_logprob p{targets[j], row[std::size_t(targets[j])] - log_z, {}};
        if (top > 0) {
            p.top_logprobs = top_logprobs(row, top, log_z);
        }
        out.push_back(std::move(p));
    }
    return out;
}

} // namespace

// In the arena: the forward pass, then each sequence's scoring and sampling
// in parallel (each owns its sampler and its logits rows).
step_result forward_executor::compute(step_batch& batch) {
    std::vector<seq_step> steps;
    steps.reserve(batch.seqs.size());
    std::vector<std::size_t> first_row; // of each sequence in the logits
    std::size_t n_rows = 0;
    for (const auto& s : batch.seqs) {
        const bool all = !s.score_targets.empty();
        steps.push_back({s.tokens, s.n_past, s.block_table, all});
        first_row.push_back(n_rows);
        n_rows += all ? s.tokens.size() : 1;
    }
    const auto f0 = std::chrono::steady_clock::now();
    const auto logits = fwd_.run(steps, *kv_);
    const double forward_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - f0).count();
    const std::size_t vocab = fwd_.weights().config().vocab_size;
    // (rows, vocab), modified by sampling; the buffer is reused so that a
    // step does not fault in fresh pages for it.
    rows_.assign(logits.begin(), logits.end());
    std::span<float> rows(rows_);
    step_result out;
    out.seqs.resize(batch.seqs.size());
    out.forward_seconds = forward_seconds;
    kernels::parallel_for(0, batch.seqs.size(), 1, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
            auto& s = batch.seqs[i];
            auto& r = out.seqs[i];
            r.id = s.id;
            const std::size_t last =
                first_row[i] + (s.score_targets.empty() ? 0 : s.tokens.size() - 1);
            if (!s.score_targets.empty()) {
                r.scores =
                    score(std::span(rows).subspan(first_row[i] * vocab, s.tokens.size() * vocab),
                          vocab, s.score_targets, s.score_top);
            }
            if (!s.sampler) {
                continue;
            }
            if (auto t = s.sampler->sample(std::span(rows).subspan(last * vocab, vocab))) {
                r.token = std::move(*t);
            } else {
                r.failure = t.error();
            }
            r.sampler = std::move(s.sampler);
        }
    });
    if (rows_.capacity() * sizeof(float) > (std::size_t(64) << 20)) {
        rows_ = {}; // a prompt-scoring step's rows are not kept
    }
    return out;
}

} // namespace radixrt::actors
