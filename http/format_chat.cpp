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
        json lp = nullptr;
        if (info_.logprobs >= 0) {
            lp = {{"content", json::array({entry(e.token, e.logprob, e.top_logprobs)})}};
        }
        return chunk(json::array(
            {{{"index", i}, {"delta", delta}, {"finish_reason", nullptr}, {"logprobs", lp}}}));
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
                             {"logprobs", logprobs_of(all[i])}});
        }
        return full_response("chat.completion", std::move(items), all);
    }

  private:
    json alternative(std::int32_t token, float logprob) const {
        const auto piece = info_.piece(token);
        return {{"token", piece}, {"logprob", logprob}, {"bytes", token_bytes(piece)}};
    }

    // One logprobs.content item: the chosen token and its alternatives.
    json entry(std::int32_t token, float logprob, const std::vector<token_logprob>& top) const {
        json item = alternative(token, logprob);
        json alts = json::array();
        for (const auto& t : top) {
            alts.push_back(alternative(t.token, t.logprob));
        }
        item["top_logprobs"] = std::move(alts);
        return item;
    }

    json logprobs_of(const choice_state& c) const {
        if (info_.logprobs < 0) {
            return nullptr;
        }
        json content = json::array();
        for (std::size_t k = 0; k < c.ids.size(); ++k) {
            content.push_back(entry(c.ids[k], c.logprobs[k],
                                    k < c.top.size() ? c.top[k] : std::vector<token_logprob>{}));
        }
        return {{"content", std::move(content)}, {"refusal", nullptr}};
    }
};

} // namespace

std::unique_ptr<response_format> chat_completions_format(call_info info) {
    return std::make_unique<chat_completions>(std::move(info));
}

} // namespace radixrt::http
