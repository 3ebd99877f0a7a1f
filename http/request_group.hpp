#pragma once
// The fan-out of one API request: its engine requests (prompts x n), their
// events gathered per choice, formatted by the API's response_format and
// written to a group_output (an SSE/plain HTTP response or a WebSocket).
// The output's owner holds the group; the group holds its sinks; the engine
// holds the sinks weakly, so a connection that goes away cancels them.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http/metrics.hpp"
#include "http/quota.hpp"
#include "http/responder.hpp"
#include "http/response_format.hpp"
#include "radixrt/engine.hpp"

namespace radixrt::http {

/// Where a group writes.
class group_output {
  public:
    virtual ~group_output() = default;
    virtual void begin_stream() = 0;
    virtual void send(const json& chunk) = 0;
    virtual void end_stream(bool done_marker) = 0;
    virtual void respond(unsigned status, std::string body) = 0;
};

/// SSE events or one plain response through an HTTP responder (held weakly).
std::shared_ptr<group_output> http_output(const std::shared_ptr<responder>& out);

class request_group : public std::enable_shared_from_this<request_group> {
  public:
    /// on_done runs once, after the last choice ended (not on a refused launch).
    request_group(std::unique_ptr<response_format> format, bool stream, std::string endpoint,
                  metrics& stats, std::shared_ptr<group_output> out,
                  std::function<void(const request_group*)> on_done = {});
    ~request_group();

    /// Submits every request, all or none: a quota without room (429) or an
    /// engine refusal (fields renamed by names) is thrown as an api_error
    /// and nothing has been queued or written then. Each quota is held, one
    /// unit per request, until that request ends.
    void launch(engine& eng, std::vector<request> reqs, const param_names& names,
                std::vector<std::shared_ptr<quota>> quotas = {});
    /// Cancels every request of the group.
    void cancel();

  private:
    class sink;

    void on_token(std::size_t i, const token_event& e);
    void on_prompt(std::size_t i, std::span<const prompt_token_logprob> tokens);
    void on_finish(std::size_t i, const finish_event& e);
    void complete(const finish_event& last);

    using clock_type = std::chrono::steady_clock;

    std::unique_ptr<response_format> format_;
    const bool stream_;
    const std::string endpoint_;
    metrics& stats_;
    std::shared_ptr<group_output> out_;
    std::function<void(const request_group*)> on_done_;
    const clock_type::time_point start_ = clock_type::now();

    std::mutex mutex_; // engine callbacks vs launch
    std::vector<std::shared_ptr<sink>> sinks_;
    std::vector<request_handle> handles_;
    std::vector<choice_state> choices_;
    std::vector<clock_type::time_point> last_token_;
    std::vector<std::shared_ptr<quota>> quotas_;
    std::size_t remaining_ = 0;
    bool launched_ = false;
};

} // namespace radixrt::http
