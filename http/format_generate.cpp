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
        json m = {{"id", info_.id}, {"completion_tokens", c.ids.size()}};
        add_logprobs(m, c);
        return json{{"text", c.text}, {"output_ids", c.ids}, {"index", i}, {"meta_info", m}};
    }

    std::optional<json> finish_chunk(std::size_t i, const choice_state& c) const override {
        return json{{"text", c.text}, {"output_ids", c.ids}, {"index", i}, {"meta_info", meta(c)}};
    }

    json response(const std::vector<choice_state>& all) const override {
        const auto& c = all.front();
        return {{"text", c.text}, {"output_ids", c.ids}, {"meta_info", meta(c)}};
    }

  private:
    // SGLang's shape: [logprob, token id, text or null] per token.
    json entry(std::int32_t token, float logprob) const {
        return json::array(
            {logprob, token, info_.logprob_text ? json(info_.piece(token)) : json()});
    }

    void add_logprobs(json& m, const choice_state& c) const {
        if (info_.logprobs < 0) {
            return;
        }
        json out = json::array(), tops = json::array();
        for (std::size_t k = 0; k < c.ids.size(); ++k) {
            out.push_back(entry(c.ids[k], c.logprobs[k]));
            json alts = json::array();
            for (const auto& t : c.top[k]) {
                alts.push_back(entry(t.token, t.logprob));
            }
            tops.push_back(std::move(alts));
        }
        m["output_token_logprobs"] = std::move(out);
        if (info_.logprobs > 0) {
            m["output_top_logprobs"] = std::move(tops);
        }
        add_input_logprobs(m, c);
    }

    // logprob_start_len >= 0: the prompt's tokens from there, the first
    // prompt token with a null logprob (it has no context), as SGLang.
    void add_input_logprobs(json& m, const choice_state& c) const {
        if (info_.input_logprobs_from < 0 || info_.echo_first.empty()) {
            return;
        }
        json in = json::array(), tops = json::array();
        const std::size_t n = c.prompt.size() + 1;
        for (std::size_t k = std::size_t(info_.input_logprobs_from); k < n; ++k) {
            if (k == 0) {
                const auto id = info_.echo_first.front();
                in.push_back(json::array(
                    {nullptr, id, info_.logprob_text ? json(info_.piece(id)) : json()}));
                tops.push_back(nullptr);
                continue;
            }
            const auto& p = c.prompt[k - 1];
            in.push_back(entry(p.token, p.logprob));
            json alts = json::array();
            for (const auto& t : p.top_logprobs) {
                alts.push_back(entry(t.token, t.logprob));
            }
            tops.push_back(std::move(alts));
        }
        m["input_token_logprobs"] = std::move(in);
        if (info_.logprobs > 0) {
            m["input_top_logprobs"] = std::move(tops);
        }
    }

    json meta(const choice_state& c) const {
        const auto& u = c.fin.usage;
        const char* reason =
            c.fin.reason == finish_reason::cancelled ? "abort" : finish_name(c.fin.reason);
        json m = {{"id", info_.id},
                  {"prompt_tokens", u.prompt_tokens},
                  {"completion_tokens", u.completion_tokens},
                  {"cached_tokens", u.cached_tokens},
                  {"finish_reason", {{"type", reason}}},
                  {"queue_time", u.queue_ms / 1000.0},
                  {"ttft", u.ttft_ms / 1000.0},
                  {"e2e_latency", u.total_ms / 1000.0}};
        add_logprobs(m, c);
        return m;
    }
};

} // namespace

std::unique_ptr<response_format> generate_format(call_info info) {
    return std::make_unique<generate>(std::move(info));
}

} // namespace radixrt::http
