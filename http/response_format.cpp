#include "http/response_format.hpp"

namespace radixrt::http {

const char* finish_name(finish_reason r) {
    return to_string(r);
}

json response_format::error_chunk(const api_error& e) const {
    return {{"error", {{"message", e.what()}, {"type", e.type}, {"code", e.code}}}};
}

json token_bytes(const std::string& piece) {
    json out = json::array();
    for (const char ch : piece) {
        out.push_back(int(static_cast<unsigned char>(ch)));
    }
    return out;
}

json openai_format::chunk(json choices) const {
    json j = {{"id", info_.id},
              {"object", chunk_object_},
              {"created", info_.created},
              {"model", info_.model},
              {"system_fingerprint", info_.fingerprint},
              {"choices", std::move(choices)}};
    if (info_.include_usage) {
        j["usage"] = nullptr; // as OpenAI: null on every chunk but the last
    }
    return j;
}

std::optional<json> openai_format::final_chunk(const std::vector<choice_state>& all) const {
    if (!info_.include_usage) {
        return std::nullopt;
    }
    json j = chunk(json::array());
    j["usage"] = openai_usage(all, info_.n);
    return j;
}

json openai_format::full_response(const char* object, json choices,
                                  const std::vector<choice_state>& all) const {
    return {{"id", info_.id},
            {"object", object},
            {"created", info_.created},
            {"model", info_.model},
            {"system_fingerprint", info_.fingerprint},
            {"choices", std::move(choices)},
            {"usage", openai_usage(all, info_.n)}};
}

json openai_usage(const std::vector<choice_state>& all, std::size_t n) {
    std::size_t prompt = 0, completion = 0, cached = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
        completion += all[i].fin.usage.completion_tokens;
        if (i % n == 0) {
            prompt += all[i].fin.usage.prompt_tokens;
            cached += all[i].fin.usage.cached_tokens;
        }
    }
    return {{"prompt_tokens", prompt},
            {"completion_tokens", completion},
            {"total_tokens", prompt + completion},
            {"prompt_tokens_details", {{"cached_tokens", cached}}}};
}

} // namespace radixrt::http
