#include "actors/attention_executor.hpp"

#include <chrono>

#include "kernels/parallel.hpp"

namespace radixrt::actors {

using namespace runtime;

attention_executor::attention_executor(std::shared_ptr<const model> m, std::size_t threads,
                                       std::string name)
    : fwd_(std::move(m)), arena_(int(std::max<std::size_t>(1, threads))), name_(std::move(name)),
      guard_(asio::make_work_guard(ioc_)), thread_([this] { ioc_.run(); }) {}

attention_executor::~attention_executor() {
    stop();
}

void attention_executor::stop() {
    guard_.reset();
    if (thread_.joinable()) {
        thread_.join();
    }
}

asio::awaitable<step_result> attention_executor::run(step_batch batch, kv_storage* kv) {
    step_result out;
    const auto t0 = std::chrono::steady_clock::now();
    arena_.execute([&] {
        std::vector<seq_step> steps;
        steps.reserve(batch.seqs.size());
        for (const auto& s : batch.seqs) {
            steps.push_back({s.tokens, s.n_past, s.block_table, false});
        }
        const auto logits = fwd_.run(steps, *kv);
        const std::size_t vocab = fwd_.weights().config().vocab_size;
        out.seqs.resize(batch.seqs.size());
        // Sampling in parallel over sequences: each owns its sampler and row.
        std::vector<float> rows(logits.begin(), logits.end());
        kernels::parallel_for(0, batch.seqs.size(), 1, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) {
                auto& s = batch.seqs[i];
                auto& r = out.seqs[i];
                r.id = s.id;
                if (s.sampler) {
                    r.token = s.sampler->sample(std::span(rows).subspan(i * vocab, vocab));
                    r.sampled = true;
                    r.sampler = std::move(s.sampler);
                }
            }
        });
    });
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    co_return out;
}

} // namespace radixrt::actors
