// SGLang /generate: {text, output_ids, meta_info}; stream events carry the
// text and ids so far, as SGLang's do.
#include "http/response_format.hpp"

namespace radixrt::http {

namespace {

class generate final : public response_format {
  public:
    using response_format::response_format;

    std::optional<json> token_chunk(std::size_t i, const choice_state& c,
                                    const token_event&) const override {
        return json{{"text", c.text},
                    {"output_ids", c.ids},
                    {"index", i},
                    {"meta_info", {{"id", info_.id}, {"completion_tokens", c.ids.size()}}}};
    }

    std::optional<json> finish_chunk(std::size_t i, const choice_state& c) const override {
        return json{{"text", c.text}, {"output_ids", c.ids}, {"index", i}, {"meta_info", meta(c)}};
    }

    json response(const std::vector<choice_state>& all) const override {
        const auto& c = all.front();
        return {{"text", c.text}, {"output_ids", c.ids}, {"meta_info", meta(c)}};
    }

  private:
    json meta(const choice_state& c) const {
        const auto& u = c.fin.usage;
        const char* reason =
            c.fin.reason == finish_reason::cancelled ? "abort" : finish_name(c.fin.reason);
        return {{"id", info_.id},
                {"prompt_tokens", u.prompt_tokens},
                {"completion_tokens", u.completion_tokens},
                {"cached_tokens", u.cached_tokens},
                {"finish_reason", {{"type", reason}}},
                {"queue_time", u.queue_ms / 1000.0},
                {"ttft", u.ttft_ms / 1000.0},
                {"e2e_latency", u.total_ms / 1000.0}};
    }
};

} // namespace

std::unique_ptr<response_format> generate_format(call_info info) {
    return std::make_unique<generate>(std::move(info));
}

} // namespace radixrt::http
