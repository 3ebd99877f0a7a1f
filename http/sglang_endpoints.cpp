// SGLang's server endpoints that its clients and routers call:
// /get_model_info, /get_server_info, /flush_cache and /health_generate.
#include "http/gateway.hpp"
#include "http/json_util.hpp"

namespace radixrt::http {

namespace {

// /health_generate's one-token request: answers when it ends.
class health_sink : public stream_sink {
  public:
    health_sink(std::shared_ptr<gateway> gw, std::shared_ptr<responder> out)
        : gw_(std::move(gw)), out_(std::move(out)) {}
    void on_token(const token_event&) override { ++tokens_; }
    void on_finish(const finish_event& e) override {
        const bool ok = e.reason != finish_reason::error && tokens_ == 1;
        gw_->stats().request("/health_generate", ok ? "200" : "503");
        out_->respond(ok ? 200 : 503, "application/json",
                      ok ? dump({{"status", "ok"}})
                         : error_body(api_error(503, "server_error", "unhealthy",
                                                "the health generation failed: " + e.message)));
    }

  private:
    std::shared_ptr<gateway> gw_;
    std::shared_ptr<responder> out_;
    std::size_t tokens_ = 0;
};

} // namespace

void gateway::model_info(const std::shared_ptr<responder>& out) {
    const auto& m = current_engine()->model();
    const auto& path = cfg_.engine.model_path;
    reply(out, "/get_model_info",
          dump({{"model_path", path.empty() ? model_name_ : path},
                {"tokenizer_path", path.empty() ? model_name_ : path},
                {"is_generation", true},
                {"architecture", m.architecture},
                {"context_length", m.context_length},
                {"vocab_size", m.vocab_size}}));
}

void gateway::server_info(const std::shared_ptr<responder>& out) {
    const auto eng = current_engine();
    const auto st = eng->stats();
    const auto& e = cfg_.engine;
    reply(out, "/get_server_info",
          dump({{"version", RADIXRT_VERSION},
                {"served_model_name", model_name_},
                {"context_length", eng->model().context_length},
                {"max_total_num_tokens", st.kv_capacity_tokens},
                {"kv_cache_dtype", e.kv_type},
                {"page_size", e.block_size},
                {"disable_radix_cache", !e.cache_enabled},
                {"schedule_policy", e.policy},
                {"max_running_requests", e.max_running},
                {"chunked_prefill_size", e.max_prefill_chunk},
                {"max_prefill_tokens", e.max_batch_tokens},
                {"running_requests", st.running},
                {"waiting_requests", st.waiting}}));
}

void gateway::health_generate(const std::shared_ptr<responder>& out) {
    request r;
    r.prompt = "ping";
    r.max_tokens = 1;
    r.ignore_eos = true;
    r.sampling.temperature = 0;
    auto sink = std::make_shared<health_sink>(shared_from_this(), out);
    out->hold(sink); // the engine holds it weakly
    if (auto h = current_engine()->submit(std::move(r), sink); !h) {
        throw from_engine(h.error());
    }
}

} // namespace radixrt::http
