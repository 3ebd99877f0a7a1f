#include "runtime/actor.hpp"

#include <stdexcept>

#include <gtest/gtest.h>

namespace rr = radixrt::runtime;
namespace asio = boost::asio;

namespace {

// A counter actor: its state is touched only by its handlers.
class counter : public rr::actor {
  public:
    explicit counter(asio::io_context& ioc) : actor(ioc, "counter") {}
    asio::awaitable<int> add(int v) {
        log_.push_back(v);
        total_ += v;
        co_return total_;
    }
    asio::awaitable<int> fail(std::string why) {
        throw std::runtime_error(why);
        co_return 0;
    }
    std::vector<int> log_;
    int total_ = 0;
};

// Another actor that talks to the counter by message.
class client : public rr::actor {
  public:
    client(asio::io_context& ioc, counter& c) : actor(ioc, "client"), c_(c) {}
    asio::awaitable<std::vector<int>> run(int n) {
        std::vector<int> replies;
        for (int i = 1; i <= n; ++i) {
            replies.push_back(co_await rr::call(c_, c_.add(i)));
        }
        co_return replies;
    }
    asio::awaitable<std::string> run_failing() {
        try {
            co_await rr::call(c_, c_.fail("bad input"));
        } catch (const std::exception& e) {
            co_return std::string("error: ") + e.what();
        }
        co_return "no error";
    }
    counter& c_;
};

} // namespace

TEST(actor, replies_arrive_in_order_and_state_stays_inside) {
    asio::io_context ioc; // driven by this thread: a deterministic order
    counter c(ioc);
    client a(ioc, c);
    std::vector<int> replies;
    asio::co_spawn(a.strand(), a.run(5), [&](std::exception_ptr e, std::vector<int> r) {
        ASSERT_FALSE(e);
        replies = r;
    });
    ioc.run();
    EXPECT_EQ(replies, (std::vector<int>{1, 3, 6, 10, 15})); // each reply saw every earlier message
    EXPECT_EQ(c.log_, (std::vector<int>{1, 2, 3, 4, 5}));
}

TEST(actor, exception_becomes_error_reply_and_actor_keeps_serving) {
    asio::io_context ioc;
    counter c(ioc);
    client a(ioc, c);
    std::string outcome;
    asio::co_spawn(a.strand(), a.run_failing(),
                   [&](std::exception_ptr, std::string r) { outcome = r; });
    ioc.run();
    EXPECT_EQ(outcome, "error: bad input");
    ioc.restart();
    std::vector<int> replies;
    asio::co_spawn(a.strand(), a.run(2),
                   [&](std::exception_ptr, std::vector<int> r) { replies = r; });
    ioc.run();
    EXPECT_EQ(replies, (std::vector<int>{1, 3}));
}

TEST(actor, many_clients_on_many_threads_never_race) {
    rr::actor_system sys(4);
    counter c(sys.context());
    std::vector<std::unique_ptr<client>> clients;
    std::atomic<int> done{0};
    for (int i = 0; i < 8; ++i) {
        clients.push_back(std::make_unique<client>(sys.context(), c));
        asio::co_spawn(clients.back()->strand(), clients.back()->run(100),
                       [&](std::exception_ptr, std::vector<int>) { ++done; });
    }
    sys.stop(); // waits for all work
    EXPECT_EQ(done.load(), 8);
    EXPECT_EQ(c.total_, 8 * 5050); // no lost update: the strand serialised them
    EXPECT_EQ(c.log_.size(), 800u);
}
