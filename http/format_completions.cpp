// OpenAI /v1/completions: text_completion objects and their stream chunks.
#include "http/response_format.hpp"

namespace radixrt::http {

namespace {

class completions final : public openai_format {
  public:
    explicit completions(call_info info) : openai_format(std::move(info), "text_completion") {}

    std::optional<json> token_chunk(std::size_t i, const choice_state& c,
                                    const token_event& e) const override {
        json item = {{"index", i},
                     {"text", (c.started ? std::string() : echo_of(i)) + e.text},
                     {"finish_reason", nullptr},
                     {"logprobs", nullptr}};
        if (info_.logprobs >= 0) {
            item["logprobs"] = logprobs_of(i, c, c.ids.size() - 1, c.ids.size(), !c.started);
        }
        return chunk(json::array({item}));
    }

    std::optional<json> finish_chunk(std::size_t i, const choice_state& c) const override {
        json item = {{"index", i},
                     {"text", (c.started ? std::string() : echo_of(i)) + c.fin.text_tail},
                     {"finish_reason", finish_name(c.fin.reason)},
                     {"logprobs", nullptr}};
        if (info_.logprobs >= 0 && !c.started && echoes_logprobs(i)) {
            item["logprobs"] = logprobs_of(i, c, 0, 0, true); // no token came: the prompt's
        }
        return chunk(json::array({item}));
    }

    json response(const std::vector<choice_state>& all) const override {
        json items = json::array();
        for (std::size_t i = 0; i < all.size(); ++i) {
            const auto& c = all[i];
            json item = {{"index", i},
                         {"text", echo_of(i) + c.text},
                         {"finish_reason", finish_name(c.fin.reason)},
                         {"logprobs", nullptr}};
            if (info_.logprobs >= 0) {
                item["logprobs"] = logprobs_of(i, c, 0, c.ids.size(), true);
            }
            items.push_back(std::move(item));
        }
        return full_response("text_completion", std::move(items), all);
    }

  private:
    const std::string& echo_of(std::size_t i) const { return info_.echo[i / info_.n]; }

    bool echoes_logprobs(std::size_t i) const {
        return i / info_.n < info_.echo_first.size() && !echo_of(i).empty();
    }

    // A top_logprobs dict: most likely first (the first of equal texts
    // kept); as OpenAI, it also holds the chosen token.
    json top_dict(const std::vector<token_logprob>& top, const std::string& piece,
                  float logprob) const {
        json d = json::object();
        for (const auto& t : top) {
            if (auto p = info_.piece(t.token); !d.contains(p)) {
                d[p] = t.logprob;
            }
        }
        if (!d.contains(piece)) {
            d[piece] = logprob;
        }
        return d;
    }

    // OpenAI's legacy logprobs object for tokens [from, to) of choice i,
    // after the echoed prompt's tokens when `with_prompt` and echo asked for
    // them (its first token has no logprob: null, as OpenAI).
    json logprobs_of(std::size_t i, const choice_state& c, std::size_t from, std::size_t to,
                     bool with_prompt) const {
        json tokens = json::array(), values = json::array(), tops = json::array(),
             offsets = json::array();
        if (with_prompt && echoes_logprobs(i)) {
            std::size_t at = 0;
            const auto add = [&](std::int32_t id, json value, json top) {
                const auto piece = info_.piece(id);
                tokens.push_back(piece);
                values.push_back(std::move(value));
                tops.push_back(std::move(top));
                offsets.push_back(at);
                at += piece.size();
            };
            add(info_.echo_first[i / info_.n], nullptr, nullptr);
            for (const auto& p : c.prompt) {
                add(p.token, p.logprob, top_dict(p.top_logprobs, info_.piece(p.token), p.logprob));
            }
        }
        for (std::size_t k = from; k < to; ++k) {
            const auto piece = info_.piece(c.ids[k]);
            tokens.push_back(piece);
            values.push_back(c.logprobs[k]);
            tops.push_back(top_dict(c.top[k], piece, c.logprobs[k]));
            offsets.push_back(echo_of(i).size() + c.offsets[k]);
        }
        return {{"tokens", std::move(tokens)},
                {"token_logprobs", std::move(values)},
                {"top_logprobs", std::move(tops)},
                {"text_offset", std::move(offsets)}};
    }
};

} // namespace

std::unique_ptr<response_format> completions_format(call_info info) {
    return std::make_unique<completions>(std::move(info));
}

} // namespace radixrt::http
