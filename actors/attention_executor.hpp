#pragma once
// An attention executor: a thread of its own running an io_context, and a
// tbb::task_arena bounding its compute threads. It runs one batched forward
// step at a time and samples each finished sequence, in the arena.
#include <memory>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <tbb/task_arena.h>

#include "actors/executor_messages.hpp"
#include "runtime/actor.hpp"
#include "runtime/forward.hpp"

namespace radixrt::actors {

class attention_executor {
  public:
    attention_executor(std::shared_ptr<const runtime::model> model, std::size_t threads,
                       std::string name);
    ~attention_executor();
    attention_executor(const attention_executor&) = delete;
    attention_executor& operator=(const attention_executor&) = delete;

    /// Runs on this executor's own thread (co_spawn it on executor()).
    runtime::asio::awaitable<step_result> run(step_batch batch, runtime::kv_storage* kv);
    runtime::asio::io_context::executor_type executor() { return ioc_.get_executor(); }
    const std::string& name() const { return name_; }
    void stop();

  private:
    runtime::forward_pass fwd_;
    tbb::task_arena arena_;
    std::string name_;
    runtime::asio::io_context ioc_;
    runtime::asio::executor_work_guard<runtime::asio::io_context::executor_type> guard_;
    std::thread thread_;
};

} // namespace radixrt::actors
