#pragma once
// A stand-in for the model in scheduler tests, exact about paging: it keeps
// a fake KV arena (one token id per slot), writes each step's tokens through
// the sequence's block table, reads the whole sequence back through the
// table, and picks the next token as a hash of it. A planner that hands out
// a wrong block, overwrites a shared one or loses a preempted request's
// progress makes some request's output differ from expected_output(), which
// hashes the true sequence with no paging at all.
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

#include <random>

#include "actors/executor_messages.hpp"
#include "runtime/synthetic.hpp"

namespace radixrt::test {

namespace ra = radixrt::actors;
namespace rr = radixrt::runtime;

/// The built-in model's tokenizer (token text, EOS) for planner tests.
inline const rr::tokenizer& test_vocab() {
    static const auto model = rr::builtin_model();
    static const auto tok = rr::tokenizer::from_gguf(model->file());
    return tok;
}

/// n random token ids in [3, 203).
inline std::vector<rr::token_id> random_tokens(std::mt19937& g, std::size_t n) {
    std::vector<rr::token_id> t(n);
    for (auto& x : t) {
        x = rr::token_id(3 + g() % 200);
    }
    return t;
}

class paged_oracle {
  public:
    paged_oracle(std::size_t n_blocks, std::size_t block_size)
        : block_size_(block_size), slots_(n_blocks * block_size, -1) {}

    /// The token after seq: in [3, 3 + range), never BOS/EOS of the test vocabularies.
    static rr::token_id next_token(std::span<const rr::token_id> seq, std::uint32_t range = 200) {
        std::uint64_t h = 1469598103934665603ull;
        for (auto t : seq) {
            h = (h ^ std::uint32_t(t)) * 1099511628211ull;
        }
        return rr::token_id(3 + (h >> 17) % range);
    }

    static std::vector<rr::token_id> expected_output(std::vector<rr::token_id> seq, std::size_t n) {
        std::vector<rr::token_id> out;
        for (std::size_t i = 0; i < n; ++i) {
            out.push_back(next_token(seq));
            seq.push_back(out.back());
        }
        return out;
    }

    /// One sequence of a step: write, read back, sample (if it carries a sampler).
    ra::sequence_result run(ra::step_sequence& s) {
        const std::size_t end = s.n_past + s.tokens.size();
        if (s.block_table.size() * block_size_ < end) {
            throw std::logic_error("block table too short");
        }
        for (std::size_t i = 0; i < s.tokens.size(); ++i) {
            slot(s, s.n_past + i) = s.tokens[i];
        }
        std::vector<rr::token_id> seq;
        for (std::size_t p = 0; p < end; ++p) {
            seq.push_back(slot(s, p));
        }
        ra::sequence_result r;
        r.id = s.id;
        if (s.sampler) {
            // A logits row peaked at the oracle's token; the request's own
            // sampler picks from it (greedy requests: exactly that token).
            std::vector<float> logits(vocab, 0.0f);
            logits[std::size_t(next_token(seq))] = 20.0f;
            auto t = s.sampler->sample(logits);
            if (t) {
                r.token = *t;
            } else {
                r.failure = t.error();
            }
            r.sampler = std::move(s.sampler);
        }
        return r;
    }

    std::vector<ra::sequence_result> run(std::vector<ra::step_sequence>& plan) {
        std::vector<ra::sequence_result> out;
        for (auto& s : plan) {
            out.push_back(run(s));
        }
        return out;
    }

    static constexpr std::size_t vocab = 256;

  private:
    rr::token_id& slot(const ra::step_sequence& s, std::size_t pos) {
        const auto b = std::size_t(rr::to_int(s.block_table.at(pos / block_size_)));
        return slots_.at(b * block_size_ + pos % block_size_);
    }

    std::size_t block_size_;
    std::vector<rr::token_id> slots_;
};

} // namespace radixrt::test
