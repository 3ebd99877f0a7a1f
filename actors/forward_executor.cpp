#include "actors/forward_executor.hpp"

#include <chrono>

#include "kernels/parallel.hpp"

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

// In the arena: the forward pass, then each sequence's sampling in parallel
// (each owns its sampler and its logits row).
step_result forward_executor::compute(step_batch& batch) {
    std::vector<seq_step> steps;
    steps.reserve(batch.seqs.size());
    for (const auto& s : batch.seqs) {
        steps.push_back({s.tokens, s.n_past, s.block_table, false});
    }
    const auto logits = fwd_.run(steps, *kv_);
    const std::size_t vocab = fwd_.weights().config().vocab_size;
    std::vector<float> rows(logits.begin(), logits.end()); // (seqs, vocab), modified by sampling
    step_result out;
    out.seqs.resize(batch.seqs.size());
    kernels::parallel_for(0, batch.seqs.size(), 1, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
            auto& s = batch.seqs[i];
            auto& r = out.seqs[i];
            r.id = s.id;
            if (!s.sampler) {
                continue;
            }
            if (auto t = s.sampler->sample(std::span(rows).subspan(i * vocab, vocab))) {
                r.token = std::move(*t);
            } else {
                r.failure = t.error();
            }
            r.sampler = std::move(s.sampler);
        }
    });
    return out;
}

} // namespace radixrt::actors
