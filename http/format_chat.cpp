// OpenAI /v1/chat/completions: chat.completion objects and their chunks.
#include "http/response_format.hpp"

namespace radixrt::http {

namespace {

class chat_completions final : public openai_format {
  public:
    explicit chat_completions(call_info info)
        : openai_format(std::move(info), "chat.completion.chunk") {}

    std::optional<json> token_chunk(std::size_t i, const choice_state& c,
                                    const token_event& e) const override {
        json delta = c.started ? json{{"content", e.text}}
                               : json{{"role", "assistant"}, {"content", e.text}};
        return chunk(json::array(
            {{{"index", i}, {"delta", delta}, {"finish_reason", nullptr}, {"logprobs", nullptr}}}));
    }

    std::optional<json> finish_chunk(std::size_t i, const choice_state& c) const override {
        json delta =
            c.started ? json::object() : json{{"role", "assistant"}, {"content", c.fin.text_tail}};
        if (c.started && !c.fin.text_tail.empty()) {
            delta = {{"content", c.fin.text_tail}};
        }
        return chunk(json::array({{{"index", i},
                                   {"delta", delta},
                                   {"finish_reason", finish_name(c.fin.reason)},
                                   {"logprobs", nullptr}}}));
    }

    json response(const std::vector<choice_state>& all) const override {
        json items = json::array();
        for (std::size_t i = 0; i < all.size(); ++i) {
            items.push_back({{"index", i},
                             {"message", {{"role", "assistant"}, {"content", all[i].text}}},
                             {"finish_reason", finish_name(all[i].fin.reason)},
                             {"logprobs", nullptr}});
        }
        return {{"id", info_.id},           {"object", "chat.completion"},
                {"created", info_.created}, {"model", info_.model},
                {"choices", items},         {"usage", openai_usage(all, info_.n)}};
    }
};

} // namespace

std::unique_ptr<response_format> chat_completions_format(call_info info) {
    return std::make_unique<chat_completions>(std::move(info));
}

} // namespace radixrt::http
