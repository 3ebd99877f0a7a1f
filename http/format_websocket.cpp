// The WebSocket protocol's events (docs/websocket.md): token, done, error,
// each carrying the client's request id as it was given.
#include "http/response_format.hpp"

namespace radixrt::http {

namespace {

class websocket final : public response_format {
  public:
    using response_format::response_format;

    std::optional<json> token_chunk(std::size_t, const choice_state&,
                                    const token_event& e) const override {
        json ev = {{"type", "token"},
                   {"id", info_.client_id},
                   {"index", e.index},
                   {"token_id", e.token},
                   {"text", e.text}};
        if (info_.logprobs >= 0) {
            ev["logprob"] = e.logprob;
            json alts = json::array();
            for (const auto& t : e.top_logprobs) {
                alts.push_back({{"token_id", t.token},
                                {"text", info_.piece(t.token)},
                                {"logprob", t.logprob}});
            }
            ev["top_logprobs"] = std::move(alts);
        }
        return ev;
    }

    std::optional<json> finish_chunk(std::size_t, const choice_state& c) const override {
        const auto& u = c.fin.usage;
        return json{{"type", "done"},
                    {"id", info_.client_id},
                    {"finish_reason", finish_name(c.fin.reason)},
                    {"text", c.fin.text_tail},
                    {"usage",
                     {{"prompt_tokens", u.prompt_tokens},
                      {"completion_tokens", u.completion_tokens},
                      {"cached_tokens", u.cached_tokens},
                      {"queue_ms", u.queue_ms},
                      {"ttft_ms", u.ttft_ms},
                      {"total_ms", u.total_ms}}}};
    }

    json error_chunk(const api_error& e) const override {
        return {{"type", "error"},
                {"id", info_.client_id},
                {"error",
                 {{"message", e.what()},
                  {"type", e.type},
                  {"code", e.code},
                  {"param", e.param.empty() ? json(nullptr) : json(e.param)}}}};
    }

    bool done_marker() const override { return false; }

    json response(const std::vector<choice_state>&) const override {
        return json::object(); // the WebSocket always streams
    }
};

} // namespace

std::unique_ptr<response_format> websocket_format(call_info info) {
    return std::make_unique<websocket>(std::move(info));
}

} // namespace radixrt::http
