#include "runtime/sampler.hpp"

#include <algorithm>
#include <cmath>

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

sampler::sampler(sampling_params params, std::span<const token_id> prompt)
    : params_(std::move(params)), rng_(params_.seed) {
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

sampled sampler::sample(std::span<float> logits) {
    apply_penalties(logits);
    const std::size_t n = logits.size();
    token_id chosen = 0;
    float logprob = 0.0f;
    // log-sum-exp of the logits scaled by 1/T (T = 1 for greedy).
    auto log_z = [&](float inv_t) {
        float mx = -INFINITY;
        for (float l : logits) {
            mx = std::max(mx, l * inv_t);
        }
        double s = 0.0;
        for (float l : logits) {
            s += std::exp(double(l * inv_t - mx));
        }
        return mx + float(std::log(s));
    };
    if (params_.temperature <= 0.0f || params_.top_k == 1) {
        chosen = token_id(std::max_element(logits.begin(), logits.end()) - logits.begin());
        logprob = logits[std::size_t(chosen)] - log_z(1.0f);
    } else {
        const float inv_t = 1.0f / params_.temperature;
        candidates_.clear();
        for (std::size_t i = 0; i < n; ++i) {
            candidates_.emplace_back(logits[i] * inv_t, token_id(i));
        }
        auto by_logit = [](const auto& a, const auto& b) {
            return a.first > b.first || (a.first == b.first && a.second < b.second);
        };
        std::size_t keep = params_.top_k > 0 ? std::min(params_.top_k, n) : n;
        std::partial_sort(candidates_.begin(), candidates_.begin() + std::ptrdiff_t(keep),
                          candidates_.end(), by_logit);
        candidates_.resize(keep);
        // probabilities of the kept candidates
        const float mx = candidates_[0].first;
        std::vector<double> p(keep);
        double sum = 0.0;
        for (std::size_t i = 0; i < keep; ++i) {
            p[i] = std::exp(double(candidates_[i].first - mx));
            sum += p[i];
        }
        std::size_t cut = keep;
        if (params_.top_p < 1.0f) { // smallest prefix whose mass reaches top_p
            double acc = 0.0;
            for (std::size_t i = 0; i < keep; ++i) {
                acc += p[i] / sum;
                if (acc >= double(params_.top_p)) {
                    cut = i + 1;
                    break;
                }
            }
        }
        if (params_.min_p > 0.0f) { // drop tokens below min_p * p_max
            std::size_t i = 1;
            while (i < cut && p[i] >= double(params_.min_p) * p[0]) {
                ++i;
            }
            cut = i;
        }
        double mass = 0.0;
        for (std::size_t i = 0; i < cut; ++i) {
            mass += p[i];
        }
        double r = rng_.uniform() * mass;
        std::size_t pick = cut - 1;
        for (std::size_t i = 0; i < cut; ++i) {
            r -= p[i];
            if (r < 0) {
                pick = i;
                break;
            }
        }
        chosen = candidates_[pick].second;
        logprob = float(std::log(p[pick] / mass));
    }
    ++output_counts_[chosen];
    return {chosen, logprob};
}

} // namespace radixrt::runtime
