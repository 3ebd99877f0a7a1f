// Embedding radixrt in a service of your own: start an engine, submit a few
// concurrent streaming requests that share a system prompt, print what they
// produce, then shut down. Build: see README ("Embedding").
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>

#include <radixrt/engine.hpp>

namespace {

// Collects one stream. Callbacks run on the engine's scheduler thread: they
// only append and signal.
class printer : public radixrt::stream_sink {
  public:
    explicit printer(int id) : id_(id) {}
    void on_token(const radixrt::token_event& e) override { text_ += e.text; }
    void on_finish(const radixrt::finish_event& e) override {
        std::lock_guard lock(mutex_);
        text_ += e.text_tail;
        std::printf(
            "[%d] %s... (%s: %zu prompt tokens, %zu from cache, %zu generated, ttft %.1f ms)\n",
            id_, text_.substr(0, 60).c_str(), radixrt::to_string(e.reason), e.usage.prompt_tokens,
            e.usage.cached_tokens, e.usage.completion_tokens, e.usage.ttft_ms);
        done_ = true;
        cv_.notify_all();
    }
    void wait() {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return done_; });
    }

  private:
    int id_;
    std::string text_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
};

} // namespace

int main() {
    radixrt::engine eng(radixrt::engine_config{}); // the built-in model
    const std::string system = "You are a helpful assistant. Answer briefly and kindly. ";
    const char* questions[] = {"What is a radix tree?", "Why share prefixes?",
                               "How does paging help?", "What does an actor own?"};
    // Warm the cache with the system prompt, then ask the questions at once.
    eng.generate({.prompt = system, .max_tokens = 1});
    std::vector<std::shared_ptr<printer>> sinks;
    for (int i = 0; i < 4; ++i) {
        sinks.push_back(std::make_shared<printer>(i));
        radixrt::request r{.prompt = system + questions[i], .max_tokens = 24};
        r.sampling.temperature = 0.0f;
        if (auto h = eng.submit(r, sinks.back()); !h) {
            std::fprintf(stderr, "submit failed: %s\n", h.error().message.c_str());
            return 1;
        }
    }
    for (auto& s : sinks) {
        s->wait();
    }
    const auto st = eng.stats();
    std::printf("prompt tokens %llu, served from cache %llu; steps %llu\n",
                (unsigned long long)st.prompt_tokens, (unsigned long long)st.cached_prompt_tokens,
                (unsigned long long)st.steps);
    eng.shutdown(std::chrono::seconds(5));
    return 0;
}
