#include "runtime/generate.hpp"

#include <chrono>
#include <numeric>
#include <stdexcept>
#include <string>

namespace radixrt::runtime {

generate_result generate(forward_pass& fwd, const tokenizer& tok, std::span<const token_id> prompt,
                         const generate_options& opt, const token_callback& on_token) {
    using clock = std::chrono::steady_clock;
    const llama_config& c = fwd.weights().config();
    if (prompt.empty() || prompt.size() >= c.context_length) {
        throw std::invalid_argument("prompt of " + std::to_string(prompt.size()) +
                                    " tokens: need 1 to " + std::to_string(c.context_length - 1));
    }
    const std::size_t total = std::min(c.context_length, prompt.size() + opt.max_tokens);
    const std::size_t block = 16;
    kv_storage kv(c, (total + block - 1) / block, block, opt.kv);
    std::vector<block_id> table(kv.n_blocks());
    for (std::size_t b = 0; b < table.size(); ++b) {
        table[b] = block_id(std::int32_t(b));
    }

    generate_result res;
    sampler smp(opt.sampling, prompt);
    const std::size_t chunk = std::max<std::size_t>(1, opt.prefill_chunk);
    auto t0 = clock::now();
    std::span<const float> logits;
    for (std::size_t done = 0; done < prompt.size(); done += chunk) {
        const auto part = prompt.subspan(done, std::min(chunk, prompt.size() - done));
        seq_step step{part, done, table, false};
        logits = fwd.run({&step, 1}, kv);
    }
    auto t1 = clock::now();
    res.prefill_seconds = std::chrono::duration<double>(t1 - t0).count();
    std::vector<float> row(logits.begin(), logits.end());
    std::size_t pos = prompt.size();
    while (true) {
        if (res.tokens.size() >= opt.max_tokens) {
            res.reason = finish_reason::length;
            break;
        }
        auto picked = smp.sample(row);
        if (!picked) {
            throw std::runtime_error(picked.error().message);
        }
        const sampled& s = *picked;
        if (!opt.ignore_eos && tok.is_eog(s.id)) {
            res.reason = finish_reason::stop;
            break;
        }
        res.tokens.push_back(s.id);
        res.logprobs.push_back(s.logprob);
        if (on_token && !on_token(s.id, s.logprob)) {
            res.reason = finish_reason::cancelled;
            break;
        }
        if (pos >= total) { // context (or arena) full
            res.reason = finish_reason::length;
            break;
        }
        const token_id next = s.id;
        seq_step step{{&next, 1}, pos, table, false};
        logits = fwd.run({&step, 1}, kv);
        row.assign(logits.begin(), logits.end());
        ++pos;
    }
    res.decode_seconds = std::chrono::duration<double>(clock::now() - t1).count();
    return res;
}

} // namespace radixrt::runtime
