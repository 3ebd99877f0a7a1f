#include "http/request_group.hpp"

#include <algorithm>

namespace radixrt::http {

namespace {

class responder_output : public group_output {
  public:
    explicit responder_output(std::weak_ptr<responder> out) : out_(std::move(out)) {}
    void begin_stream() override {
        if (auto o = out_.lock()) {
            o->start_events();
        }
    }
    void send(const json& chunk) override {
        if (auto o = out_.lock()) {
            o->event(dump(chunk));
        }
    }
    void end_stream(bool done_marker) override {
        if (auto o = out_.lock()) {
            if (done_marker) {
                o->event("[DONE]");
            }
            o->end_events();
        }
    }
    void respond(unsigned status, std::string body) override {
        if (auto o = out_.lock()) {
            header_list headers;
            if (status == 503) {
                headers.emplace_back("Retry-After", "1");
            }
            o->respond(status, "application/json", std::move(body), std::move(headers));
        }
    }

  private:
    std::weak_ptr<responder> out_;
};

} // namespace

std::shared_ptr<group_output> http_output(const std::shared_ptr<responder>& out) {
    return std::make_shared<responder_output>(out);
}

class request_group::sink : public stream_sink {
  public:
    sink(std::weak_ptr<request_group> g, std::size_t i) : g_(std::move(g)), i_(i) {}
    void on_token(const token_event& e) override {
        if (auto g = g_.lock()) {
            g->on_token(i_, e);
        }
    }
    void on_prompt(std::span<const prompt_token_logprob> tokens) override {
        if (auto g = g_.lock()) {
            g->on_prompt(i_, tokens);
        }
    }
    void on_finish(const finish_event& e) override {
        if (auto g = g_.lock()) {
            g->on_finish(i_, e);
        }
    }

  private:
    std::weak_ptr<request_group> g_;
    std::size_t i_;
};

request_group::request_group(std::unique_ptr<response_format> format, bool stream,
                             std::string endpoint, metrics& stats,
                             std::shared_ptr<group_output> out,
                             std::function<void(const request_group*)> on_done)
    : format_(std::move(format)), stream_(stream), endpoint_(std::move(endpoint)), stats_(stats),
      out_(std::move(out)), on_done_(std::move(on_done)) {}

request_group::~request_group() {
    std::lock_guard lock(mutex_);
    if (launched_ && remaining_ > 0) {
        // The client went away (its connection closed): the engine cancels
        // the requests, whose events no longer reach this group.
        stats_.request(endpoint_, "cancelled");
        stats_.abandoned(std::chrono::duration<double>(clock_type::now() - start_).count());
        for (auto& q : quotas_) {
            q->release(remaining_);
        }
    }
}

void request_group::launch(engine& eng, std::vector<request> reqs, const param_names& names,
                           std::vector<std::shared_ptr<quota>> quotas) {
    // Held while submitting, so that no event is written before the stream starts.
    std::lock_guard lock(mutex_);
    const std::size_t n = reqs.size();
    for (std::size_t k = 0; k < quotas.size(); ++k) {
        if (!quotas[k]->try_acquire(n)) {
            for (std::size_t j = 0; j < k; ++j) {
                quotas[j]->release(n);
            }
            throw api_error(429, "rate_limit_error", "too_many_requests",
                            "too many requests at once from this client (at most " +
                                std::to_string(quotas[k]->limit()) + " queued or running)");
        }
    }
    std::vector<std::shared_ptr<stream_sink>> sinks;
    for (std::size_t i = 0; i < n; ++i) {
        sinks_.push_back(std::make_shared<sink>(weak_from_this(), i));
        sinks.push_back(sinks_.back());
    }
    auto hs = eng.submit_all(std::move(reqs), std::move(sinks));
    if (!hs) {
        for (auto& q : quotas) {
            q->release(n);
        }
        sinks_.clear();
        throw from_engine(hs.error(), names);
    }
    handles_ = std::move(*hs);
    quotas_ = std::move(quotas);
    choices_.resize(n);
    last_token_.resize(n);
    remaining_ = n;
    launched_ = true;
    if (stream_) {
        out_->begin_stream();
    }
}

void request_group::cancel() {
    std::lock_guard lock(mutex_);
    for (auto& h : handles_) {
        h.cancel();
    }
}

void request_group::on_token(std::size_t i, const token_event& e) {
    std::lock_guard lock(mutex_);
    auto& c = choices_[i];
    const auto now = clock_type::now();
    if (c.ids.empty()) {
        stats_.ttft(std::chrono::duration<double>(now - start_).count());
    } else {
        stats_.inter_token(std::chrono::duration<double>(now - last_token_[i]).count());
    }
    last_token_[i] = now;
    c.ids.push_back(e.token);
    c.pieces.push_back(e.text);
    c.logprobs.push_back(e.logprob);
    if (const auto& info = format_->info(); info.logprobs >= 0) {
        c.top.push_back(e.top_logprobs);
        c.offsets.push_back(c.piece_bytes);
        c.piece_bytes += info.piece ? info.piece(e.token).size() : e.text.size();
    }
    c.text += e.text;
    if (stream_) {
        if (auto chunk = format_->token_chunk(i, c, e)) {
            out_->send(*chunk);
            c.started = true;
        }
    }
}

void request_group::on_prompt(std::size_t i, std::span<const prompt_token_logprob> tokens) {
    std::lock_guard lock(mutex_);
    choices_[i].prompt.assign(tokens.begin(), tokens.end()); // sent with the first chunk
}

void request_group::on_finish(std::size_t i, const finish_event& e) {
    std::unique_lock lock(mutex_);
    auto& c = choices_[i];
    c.fin = e;
    c.done = true;
    c.text += e.text_tail;
    stats_.finished(e);
    if (stream_) {
        if (e.reason == finish_reason::error) {
            out_->send(format_->error_chunk(from_finish(e)));
        } else if (auto chunk = format_->finish_chunk(i, c)) {
            out_->send(*chunk);
        }
        c.started = true;
    }
    for (auto& q : quotas_) {
        q->release(1);
    }
    if (--remaining_ == 0) {
        complete(e);
        lock.unlock();
        if (on_done_) {
            on_done_(this); // not under the lock: it may take its owner's
        }
    }
}

void request_group::complete(const finish_event& last) {
    stats_.request(endpoint_, finish_name(last.reason));
    if (stream_) {
        if (auto chunk = format_->final_chunk(choices_)) {
            out_->send(*chunk);
        }
        out_->end_stream(format_->done_marker());
    } else {
        const auto failed = std::find_if(choices_.begin(), choices_.end(), [](const auto& c) {
            return c.fin.reason == finish_reason::error;
        });
        if (failed != choices_.end()) {
            const auto e = from_finish(failed->fin);
            out_->respond(e.status, error_body(e));
        } else {
            out_->respond(200, dump(format_->response(choices_)));
        }
    }
}

} // namespace radixrt::http
