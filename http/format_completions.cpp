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
            item["logprobs"] = logprobs_of(i, c, c.ids.size() - 1, c.ids.size());
        }
        return chunk(json::array({item}));
    }

    std::optional<json> finish_chunk(std::size_t i, const choice_state& c) const override {
        return chunk(
            json::array({{{"index", i},
                          {"text", (c.started ? std::string() : echo_of(i)) + c.fin.text_tail},
                          {"finish_reason", finish_name(c.fin.reason)},
                          {"logprobs", nullptr}}}));
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
                item["logprobs"] = logprobs_of(i, c, 0, c.ids.size());
            }
            items.push_back(std::move(item));
        }
        return full_response("text_completion", std::move(items), all);
    }

  private:
    const std::string& echo_of(std::size_t i) const { return info_.echo[i / info_.n]; }

    // OpenAI's legacy logprobs object for tokens [from, to) of choice i. As
    // OpenAI, each top_logprobs dict also holds the sampled token, so it has
    // up to logprobs + 1 entries.
    json logprobs_of(std::size_t i, const choice_state& c, std::size_t from, std::size_t to) const {
        json tokens = json::array(), values = json::array(), tops = json::array(),
             offsets = json::array();
        for (std::size_t k = from; k < to; ++k) {
            const auto piece = info_.piece(c.ids[k]);
            tokens.push_back(piece);
            values.push_back(c.logprobs[k]);
            json top = json::object();
            for (const auto& t : c.top[k]) { // most likely first: keep the first of equal texts
                if (auto p = info_.piece(t.token); !top.contains(p)) {
                    top[p] = t.logprob;
                }
            }
            if (!top.contains(piece)) {
                top[piece] = c.logprobs[k];
            }
            tops.push_back(std::move(top));
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
