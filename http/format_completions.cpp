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
            item["logprobs"] = {
                {"tokens", {e.text}}, {"token_logprobs", {e.logprob}}, {"top_logprobs", nullptr}};
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
                std::vector<std::size_t> offsets; // of each token in the returned text
                std::size_t at = echo_of(i).size();
                for (const auto& piece : c.pieces) {
                    offsets.push_back(at);
                    at += piece.size();
                }
                item["logprobs"] = {{"token_logprobs", c.logprobs},
                                    {"tokens", c.pieces},
                                    {"text_offset", offsets},
                                    {"top_logprobs", nullptr}};
            }
            items.push_back(std::move(item));
        }
        return {{"id", info_.id},           {"object", "text_completion"},
                {"created", info_.created}, {"model", info_.model},
                {"choices", items},         {"usage", openai_usage(all, info_.n)}};
    }

  private:
    const std::string& echo_of(std::size_t i) const { return info_.echo[i / info_.n]; }
};

} // namespace

std::unique_ptr<response_format> completions_format(call_info info) {
    return std::make_unique<completions>(std::move(info));
}

} // namespace radixrt::http
