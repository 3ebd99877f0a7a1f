// OpenAI /v1/chat/completions: chat.completion objects and their chunks. With
// tools, the output is split into content and tool_calls by the template's
// call syntax (http/tool_calls.hpp), in the stream as it arrives.
#include <memory>

#include "http/response_format.hpp"

namespace radixrt::http {

namespace {

// Adds a piece of output's events to a chunk's delta: content, and
// delta.tool_calls entries (the first of a call with id, type and name).
void add_events(json& delta, const std::vector<tool_event>& events) {
    for (const auto& e : events) {
        if (e.what == tool_event::kind::content) {
            delta["content"] = delta.value("content", std::string()) + e.text;
            continue;
        }
        if (e.what == tool_event::kind::call_end) {
            continue;
        }
        auto& calls = delta["tool_calls"];
        if (calls.is_null()) {
            calls = json::array();
        }
        if (e.what == tool_event::kind::call_begin) {
            calls.push_back({{"index", e.index},
                             {"id", e.id},
                             {"type", "function"},
                             {"function", {{"name", e.text}, {"arguments", ""}}}});
        } else if (!calls.empty() && calls.back()["index"] == e.index) {
            auto& args = calls.back()["function"]["arguments"];
            args = args.get<std::string>() + e.text;
        } else {
            calls.push_back({{"index", e.index}, {"function", {{"arguments", e.text}}}});
        }
    }
}

class chat_completions final : public openai_format {
  public:
    explicit chat_completions(call_info info)
        : openai_format(std::move(info), "chat.completion.chunk") {}

    std::optional<json> token_chunk(std::size_t i, const choice_state& c,
                                    const token_event& e) const override {
        json delta = c.started ? json::object() : json{{"role", "assistant"}};
        if (info_.tools == tool_format::none) {
            delta["content"] = e.text;
        } else {
            add_events(delta, parser(i).push(e.text));
        }
        json lp = nullptr;
        if (info_.logprobs >= 0) {
            lp = {{"content", json::array({entry(e.token, e.logprob, e.top_logprobs)})}};
        }
        if (!delta.contains("content") && !delta.contains("tool_calls") && lp.is_null()) {
            return std::nullopt; // text held back (it may start a call): nothing to say yet
        }
        return chunk(json::array(
            {{{"index", i}, {"delta", delta}, {"finish_reason", nullptr}, {"logprobs", lp}}}));
    }

    std::optional<json> finish_chunk(std::size_t i, const choice_state& c) const override {
        json delta = c.started ? json::object() : json{{"role", "assistant"}};
        const char* reason = finish_name(c.fin.reason);
        if (info_.tools == tool_format::none) {
            if (!c.started || !c.fin.text_tail.empty()) {
                delta["content"] = c.fin.text_tail;
            }
        } else {
            auto& p = parser(i);
            add_events(delta, p.push(c.fin.text_tail));
            add_events(delta, p.finish());
            if (p.any_call() && c.fin.reason == finish_reason::stop) {
                reason = "tool_calls";
            }
            if (!c.started && !delta.contains("content")) {
                delta["content"] = p.any_call() ? json(nullptr) : json("");
            }
        }
        return chunk(json::array(
            {{{"index", i}, {"delta", delta}, {"finish_reason", reason}, {"logprobs", nullptr}}}));
    }

    json response(const std::vector<choice_state>& all) const override {
        json items = json::array();
        for (std::size_t i = 0; i < all.size(); ++i) {
            const char* reason = finish_name(all[i].fin.reason);
            json message = {{"role", "assistant"}, {"content", all[i].text}};
            if (info_.tools != tool_format::none) {
                const auto out = parse_tool_calls(info_.tools, all[i].text);
                json calls = json::array();
                for (const auto& call : out.calls) {
                    calls.push_back(
                        {{"id", call.id},
                         {"type", "function"},
                         {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
                }
                message["content"] = out.content;
                if (!calls.empty()) {
                    message["tool_calls"] = std::move(calls);
                    if (out.content.empty()) {
                        message["content"] = nullptr;
                    }
                    if (all[i].fin.reason == finish_reason::stop) {
                        reason = "tool_calls";
                    }
                }
            }
            items.push_back({{"index", i},
                             {"message", std::move(message)},
                             {"finish_reason", reason},
                             {"logprobs", logprobs_of(all[i])}});
        }
        return full_response("chat.completion", std::move(items), all);
    }

  private:
    // The stream's parser of choice i (formatters are called under the
    // request group's lock, one event at a time).
    tool_call_parser& parser(std::size_t i) const {
        while (parsers_.size() <= i) {
            parsers_.push_back(std::make_unique<tool_call_parser>(info_.tools));
        }
        return *parsers_[i];
    }

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

    mutable std::vector<std::unique_ptr<tool_call_parser>> parsers_;
};

} // namespace

std::unique_ptr<response_format> chat_completions_format(call_info info) {
    return std::make_unique<chat_completions>(std::move(info));
}

} // namespace radixrt::http
