#pragma once
// An attention executor (the design's name): a thread of its own running an
// io_context, and a tbb::task_arena bounding its compute threads. It runs
// one batched forward step at a time over the shared paged KV arena, then
// the logit processors and sampling of each sequence that needs a token.
#include <memory>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <tbb/task_arena.h>

#include "actors/step_executor.hpp"
#include "runtime/forward.hpp"

namespace radixrt::actors {

class forward_executor : public step_executor {
  public:
    /// kv: the arena every executor shares (see executor_messages.hpp for
    /// who may touch which blocks when).
    forward_executor(std::shared_ptr<const runtime::model> model,
                     std::shared_ptr<runtime::kv_storage> kv, std::size_t threads,
                     std::string name);
    ~forward_executor() override;
    forward_executor(const forward_executor&) = delete;
    forward_executor& operator=(const forward_executor&) = delete;

    runtime::asio::any_io_executor executor() override { return ioc_.get_executor(); }
    runtime::asio::awaitable<step_result> run(step_batch batch) override;
    const std::string& name() const override { return name_; }
    /// Finishes the step in progress, then joins the thread.
    void stop();

  private:
    step_result compute(step_batch& batch);

    runtime::forward_pass fwd_;
    std::vector<float> rows_; // the step's logits, modified by sampling; kept between steps
    std::shared_ptr<runtime::kv_storage> kv_;
    tbb::task_arena arena_;
    std::string name_;
    runtime::asio::io_context ioc_;
    runtime::asio::executor_work_guard<runtime::asio::io_context::executor_type> guard_;
    std::thread thread_;
};

} // namespace radixrt::actors
