#include "runtime/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <exception>

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
    double s = 0.0;
    for (float l : logits) {
        s += std::exp(double(l - mx));
    }
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
token_id sampler::pick(std::span<const float> logits) {
    if (params_.temperature <= 0.0f || params_.top_k == 1) {
        return token_id(std::max_element(logits.begin(), logits.end()) - logits.begin());
    }
    const float inv_t = 1.0f / params_.temperature;
    candidates_.clear();
    for (std::size_t i = 0; i < logits.size(); ++i) {
        if (logits[i] != -INFINITY) {
            candidates_.emplace_back(logits[i] * inv_t, token_id(i));
        }
    }
    auto by_logit = [](const auto& a, const auto& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
    };
    const std::size_t n = candidates_.size();
    std::size_t keep = params_.top_k > 0 ? std::min(params_.top_k, n) : n;
    std::partial_sort(candidates_.begin(), candidates_.begin() + std::ptrdiff_t(keep),
                      candidates_.end(), by_logit);
    candidates_.resize(keep);
    const float mx = candidates_[0].first;
    probs_.resize(keep);
    double sum = 0.0;
    for (std::size_t i = 0; i < keep; ++i) {
        probs_[i] = std::exp(double(candidates_[i].first - mx));
        sum += probs_[i];
    }
    std::size_t cut = keep;
    if (params_.top_p < 1.0f) { // smallest prefix whose mass reaches top_p
        double acc = 0.0;
        for (std::size_t i = 0; i < keep; ++i) {
            acc += probs_[i] / sum;
            if (acc >= double(params_.top_p)) {
                cut = i + 1;
                break;
            }
        }
    }
    if (params_.min_p > 0.0f) { // drop tokens below min_p * p_max
        std::size_t i = 1;
        while (i < cut && probs_[i] >= double(params_.min_p) * probs_[0]) {
            ++i;
        }
        cut = i;
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
