#include "http/websocket_protocol.hpp"

#include "http/request_fields.hpp"
#include "http/request_parsing.hpp"
#include "http/structured_output.hpp"

namespace radixrt::http {

namespace {

class channel_output : public group_output {
  public:
    explicit channel_output(std::weak_ptr<ws_channel> ch) : ch_(std::move(ch)) {}
    void begin_stream() override {}
    void send(const json& chunk) override {
        if (auto ch = ch_.lock()) {
            ch->send(dump(chunk));
        }
    }
    void end_stream(bool) override {}
    void respond(unsigned, std::string) override {} // the WebSocket always streams

  private:
    std::weak_ptr<ws_channel> ch_;
};

} // namespace

void ws_connection::refuse(const json& id, const api_error& e) {
    gw_->stats().request("/v1/ws", std::to_string(e.status));
    if (auto ch = ch_.lock()) {
        call_info info;
        info.client_id = id;
        ch->send(dump(websocket_format(std::move(info))->error_chunk(e)));
    }
}

void ws_connection::on_binary() {
    refuse(nullptr,
           api_error(400, "invalid_request_error", "invalid_json", "send JSON text frames"));
}

void ws_connection::on_message(const std::string& text) {
    json id = nullptr;
    try {
        const json j = parse_body(text, gw_->config().max_json_depth);
        if (auto it = j.find("id"); it != j.end() && (it->is_string() || it->is_number_integer())) {
            id = *it;
        } else {
            throw invalid("id", "every message needs an 'id' (string or integer)");
        }
        const std::string key = id.dump();
        const auto type = j.find("type");
        if (type != j.end() && *type == "cancel") {
            check_known_fields(j, endpoint_fields::ws_cancel);
            std::shared_ptr<request_group> g;
            {
                std::lock_guard lock(mutex_);
                if (auto it = active_.find(key); it != active_.end()) {
                    g = it->second;
                }
            }
            if (g) {
                g->cancel();
            }
            return;
        }
        if (type == j.end() || *type != "generate") {
            throw invalid("type", "expected \"generate\" or \"cancel\"");
        }
        if (gw_->shutting_down()) {
            throw api_error(503, "server_error", "shutting_down", "the server is shutting down");
        }
        generate(j, text, id, key);
    } catch (const api_error& e) {
        refuse(id, e);
    }
}

void ws_connection::generate(const json& msg, const std::string& text, const json& id,
                             const std::string& key) {
    auto call = parse_ws_generate(msg, gw_->config());
    keep_key_order(call.base.constraint, text, "/params");
    auto eng = gw_->current_engine();
    if (!eng) {
        throw api_error(503, "server_error", "loading", "the model is loading");
    }
    request r = call.base;
    r.cache_namespace = cache_namespace(who_, call.cache_salt);
    set_prompt(r, call.prompt);
    r.logprobs = call.logprobs >= 0;
    r.top_logprobs = call.logprobs > 0 ? std::size_t(call.logprobs) : 0;
    std::vector<request> reqs;
    reqs.push_back(std::move(r));
    call_info info;
    info.model = gw_->model_name();
    info.client_id = id;
    info.logprobs = call.logprobs;
    info.piece = [eng](std::int32_t t) { return eng->token_text(t); };
    auto g = std::make_shared<request_group>(
        websocket_format(std::move(info)), true, "/v1/ws", gw_->stats(),
        std::make_shared<channel_output>(ch_),
        [weak = weak_from_this(), key](const request_group* done) {
            if (auto self = weak.lock()) {
                std::lock_guard lock(self->mutex_);
                if (auto it = self->active_.find(key);
                    it != self->active_.end() && it->second.get() == done) {
                    self->active_.erase(it);
                }
            }
        });
    {
        std::lock_guard lock(mutex_);
        if (!active_.emplace(key, g).second) {
            throw invalid("id", "a request with this id is already running on this socket");
        }
    }
    try {
        g->launch(*eng, std::move(reqs), ws_params(call.prompt_param),
                  {quota_, gw_->tenant_quota(who_)});
    } catch (const api_error&) {
        std::lock_guard lock(mutex_);
        active_.erase(key);
        throw;
    }
}

void ws_connection::close() {
    std::map<std::string, std::shared_ptr<request_group>> gone;
    {
        std::lock_guard lock(mutex_);
        gone.swap(active_);
    }
    for (auto& [k, g] : gone) {
        g->cancel();
    }
}

} // namespace radixrt::http
