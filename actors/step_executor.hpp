#pragma once
// What the scheduler needs of an executor: run one batch of sequences
// through the model and sample them, somewhere other than the scheduler's
// strand, and hand back the results. forward_executor is the real one;
// tests put scripted executors here.
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "actors/executor_messages.hpp"
#include "runtime/actor.hpp"

namespace radixrt::actors {

class step_executor {
  public:
    virtual ~step_executor() = default;
    /// Where run() is spawned.
    virtual runtime::asio::any_io_executor executor() = 0;
    /// One step. An exception fails every sequence of the batch.
    virtual runtime::asio::awaitable<step_result> run(step_batch batch) = 0;
    virtual const std::string& name() const = 0;
};

} // namespace radixrt::actors
