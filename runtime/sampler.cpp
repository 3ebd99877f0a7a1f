#include "runtime/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <exception>

#include "kernels/ops.hpp"

namespace radixrt::runtime {

rng::rng(std::uint64_t seed) {
    // splitmix64 spreads the seed over the state
    for (auto& s : s_) {
        seed += 0x9e3779b97f4a7c15ull;
        std::uint64_t z = seed;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        s = z ^ (z >> 31);
    }
}

std::uint64_t rng::next() {
    auto rotl = [](std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

float log_sum_exp(std::span<const float> logits) {
    float mx = -INFINITY;
    for (float l : logits) {
        mx = std::max(mx, l);
    }
    if (mx == -INFINITY) {
        return mx;
    }
    const double s = kernels::exp_weights(logits.data(), logits.size(), 1.0f, mx, nullptr);
    return mx + float(std::log(s));
}

std::vector<token_logprob> top_logprobs(std::span<const float> logits, std::size_t k, float log_z) {
    // A min-heap of the best k seen so far: better = larger logit, then lower id.
    auto better = [](const token_logprob& a, const token_logprob& b) {
        return a.logprob > b.logprob || (a.logprob == b.logprob && a.token < b.token);
    };
    std::vector<token_logprob> heap;
    k = std::min(k, logits.size());
    heap.reserve(k + 1);
    for (std::size_t i = 0; i < logits.size() && k > 0; ++i) {
        if (logits[i] == -INFINITY) {
            continue; // masked: not an alternative
        }
        const token_logprob c{token_id(i), logits[i]};
        if (heap.size() < k) {
            heap.push_back(c);
            std::push_heap(heap.begin(), heap.end(), better);
        } else if (better(c, heap.front())) {
            std::pop_heap(heap.begin(), heap.end(), better);
            heap.back() = c;
            std::push_heap(heap.begin(), heap.end(), better);
        }
    }
    std::sort(heap.begin(), heap.end(), better);
    for (auto& t : heap) {
        t.logprob -= log_z;
    }
    return heap;
}

sampler::sampler(sampling_params params, std::span<const token_id> prompt,
                 std::vector<std::shared_ptr<logit_processor>> processors, std::size_t top_logprobs)
    : params_(std::move(params)), rng_(params_.seed), processors_(std::move(processors)),
      top_logprobs_(top_logprobs) {
    if (params_.repetition_penalty != 1.0f) {
        for (token_id t : prompt) {
            ++prompt_counts_[t];
        }
    }
}

void sampler::apply_penalties(std::span<float> logits) const {
    const auto n = token_id(logits.size());
    for (auto [id, bias] : params_.logit_bias) {
        if (id >= 0 && id < n) {
            logits[std::size_t(id)] += bias;
        }
    }
    if (params_.repetition_penalty != 1.0f) {
        // CTRL-style: shrink the logit of every token seen so far.
        auto penalise = [&](token_id id) {
            if (id >= 0 && id < n) {
                float& l = logits[std::size_t(id)];
                l = l > 0 ? l / params_.repetition_penalty : l * params_.repetition_penalty;
            }
        };
        for (const auto& [id, c] : prompt_counts_) {
            penalise(id);
        }
        for (const auto& [id, c] : output_counts_) {
            if (!prompt_counts_.contains(id)) {
                penalise(id);
            }
        }
    }
    for (const auto& [id, c] : output_counts_) {
        if (id >= 0 && id < n) {
            logits[std::size_t(id)] -=
                params_.presence_penalty + params_.frequency_penalty * float(c);
        }
    }
}

// Greedy, or temperature + top-k + top-p + min-p over the tokens that are
// not masked (finite logits; at least one exists).
//
// Truncation works on the candidates sorted by logit (ties: the lower id
// first) and samples within the kept prefix in that order. Without
// truncation, order does not change the distribution, so the whole
// vocabulary is sampled in index order with no sort: a full sort of a
// 32k-150k vocabulary per token was most of a decode step's sampling time.
// top-p and min-p without top-k sort only as far as their cut: chunks of
// the best remaining candidates (nth_element, then sort), growing 4x, until
// the cut falls inside the sorted prefix.
token_id sampler::pick(std::span<const float> logits) {
    if (params_.temperature <= 0.0f || params_.top_k == 1) {
        return token_id(std::max_element(logits.begin(), logits.end()) - logits.begin());
    }
    const float inv_t = 1.0f / params_.temperature;
    float top = -INFINITY;
    std::size_t finite = 0;
    for (float l : logits) {
        top = std::max(top, l);
        finite += l != -INFINITY;
    }
    const float mx = top * inv_t;
    const bool by_k = params_.top_k > 0 && params_.top_k < finite;
    const bool by_p = params_.top_p < 1.0f;
    const bool by_min_p = params_.min_p > 0.0f;
    if (!by_k && !by_p && !by_min_p) {
        probs_.resize(logits.size());
        const double sum =
            kernels::exp_weights(logits.data(), logits.size(), inv_t, mx, probs_.data());
        double r = rng_.uniform() * sum;
        std::size_t last = 0;
        for (std::size_t i = 0; i < logits.size(); ++i) {
            if (probs_[i] > 0.0) {
                last = i;
                r -= probs_[i];
                if (r < 0) {
                    return token_id(i);
                }
            }
        }
        return token_id(last); // rounding left r at or above 0: the last candidate
    }
    candidates_.clear();
    for (std::size_t i = 0; i < logits.size(); ++i) {
        if (logits[i] != -INFINITY) {
            candidates_.emplace_back(logits[i] * inv_t, token_id(i));
        }
    }
    auto by_logit = [](const auto& a, const auto& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
    };
    const auto at = [&](std::size_t i) { return candidates_.begin() + std::ptrdiff_t(i); };
    std::size_t n = candidates_.size();
    if (by_k) {
        std::partial_sort(candidates_.begin(), at(params_.top_k), candidates_.end(), by_logit);
        n = params_.top_k;
        candidates_.resize(n);
    }
    // The normaliser of top-p: every kept candidate's weight (without top-k:
    // every finite logit's, computed from the logits in one vector pass).
    double sum = 0.0;
    if (by_k) {
        for (std::size_t i = 0; i < n; ++i) {
            sum += std::exp(double(candidates_[i].first - mx));
        }
    } else {
        sum = kernels::exp_weights(logits.data(), logits.size(), inv_t, mx, nullptr);
    }
    // Walk the candidates best first, sorting ahead of the walk as needed,
    // until the top-p mass is reached or a weight falls under min_p * p_max.
    probs_.clear();
    std::size_t sorted = by_k ? n : 0, chunk = 64, cut = n;
    double acc = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        if (i == sorted) {
            const std::size_t next = std::min(n, sorted + chunk);
            if (next < n) {
                std::nth_element(at(sorted), at(next), at(n), by_logit);
            }
            std::sort(at(sorted), at(next), by_logit);
            sorted = next;
            chunk *= 4;
        }
        const double w = std::exp(double(candidates_[i].first - mx));
        if (by_min_p && i > 0 && w < double(params_.min_p) * probs_[0]) {
            cut = i;
            break;
        }
        probs_.push_back(w);
        acc += w / sum;
        if (by_p && acc >= double(params_.top_p)) {
            cut = i + 1;
            break;
        }
    }
    double mass = 0.0;
    for (std::size_t i = 0; i < cut; ++i) {
        mass += probs_[i];
    }
    double r = rng_.uniform() * mass;
    std::size_t chosen = cut - 1;
    for (std::size_t i = 0; i < cut; ++i) {
        r -= probs_[i];
        if (r < 0) {
            chosen = i;
            break;
        }
    }
    return candidates_[chosen].second;
}

expected<sampled> sampler::sample(std::span<float> logits) {
    apply_penalties(logits);
    for (const auto& p : processors_) {
        try {
            p->process(generated_, logits);
        } catch (const std::exception& e) {
            return error{errc::internal, std::string("a logit processor failed: ") + e.what()};
        } catch (...) {
            return error{errc::internal, "a logit processor failed"};
        }
    }
    const float log_z = log_sum_exp(logits);
    if (!(log_z > -INFINITY)) { // every token masked (or NaN logits)
        return error{errc::invalid_request,
                     "the logit processors masked every token of the vocabulary"};
    }
    sampled out;
    out.id = pick(logits);
    out.logprob = logits[std::size_t(out.id)] - log_z;
    if (top_logprobs_ > 0) {
        out.top = top_logprobs(logits, top_logprobs_, log_z);
    }
    ++output_counts_[out.id];
    generated_.push_back(out.id);
    try {
        for (const auto& p : processors_) {
            out.done = p->done(generated_) || out.done;
        }
    } catch (const std::exception& e) {
        return error{errc::internal, std::string("a logit processor failed: ") + e.what()};
    } catch (...) {
        return error{errc::internal, "a logit processor failed"};
    }
    return out;
}

} // namespace radixrt::runtime
