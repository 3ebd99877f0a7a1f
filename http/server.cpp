#include "http/server.hpp"

#include <boost/asio/strand.hpp>

namespace radixrt::http {

namespace net = boost::asio;

server::server(server_config cfg)
    : cfg_(std::move(cfg)), gw_(std::make_shared<gateway>(cfg_)), acceptor_(net::make_strand(ioc_)),
      sessions_(std::make_shared<session_registry>(cfg_.max_connections)),
      cors_(std::make_shared<const cors_policy>(cfg_.cors_allowed_origins)) {}

server::~server() {
    shutdown();
    if (loader_.joinable()) {
        loader_.join();
    }
}

void server::start(std::function<void(bool, const std::string&)> on_loaded) {
    beast::error_code ec;
    const auto addr = net::ip::make_address(cfg_.host, ec);
    if (ec) {
        throw std::runtime_error("cannot listen: '" + cfg_.host + "' is not an IP address");
    }
    const net::ip::tcp::endpoint ep(addr, net::ip::port_type(cfg_.port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) {
        acceptor_.set_option(net::socket_base::reuse_address(true), ec);
        acceptor_.bind(ep, ec);
    }
    if (!ec) {
        acceptor_.listen(net::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        throw std::runtime_error("cannot listen on " + cfg_.host + ":" + std::to_string(cfg_.port) +
                                 ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    do_accept();
    for (std::size_t i = 0; i < cfg_.threads; ++i) {
        threads_.emplace_back([this] { ioc_.run(); });
    }
    loader_ = std::thread([this, on_loaded = std::move(on_loaded)] {
        try {
            gw_->set_engine(std::make_shared<engine>(cfg_.engine));
            if (on_loaded) {
                on_loaded(true, {});
            }
        } catch (const std::exception& e) {
            gw_->set_load_error(e.what());
            if (on_loaded) {
                on_loaded(false, e.what());
            }
        }
    });
}

void server::do_accept() {
    acceptor_.async_accept(
        net::make_strand(ioc_), [this](beast::error_code ec, net::ip::tcp::socket socket) {
            if (ec) {
                if (ec == net::error::operation_aborted || !acceptor_.is_open()) {
                    return; // shutting down
                }
            } else {
                auto s = std::make_shared<http_session>(std::move(socket), gw_, sessions_, cors_);
                if (sessions_->add(s)) {
                    s->run();
                } else {
                    s->refuse();
                }
            }
            do_accept();
        });
}

void server::shutdown() {
    {
        std::lock_guard lock(mutex_);
        if (stopped_) {
            return;
        }
        stopped_ = true;
    }
    if (loader_.joinable()) {
        loader_.join(); // a load in progress finishes first
    }
    // Health checks see 503 while the listener still accepts and serves, so a
    // load balancer moves new requests elsewhere before connections are refused.
    gw_->begin_draining();
    if (cfg_.drain_grace.count() > 0) {
        std::this_thread::sleep_for(cfg_.drain_grace);
    }
    gw_->begin_shutdown();
    net::post(acceptor_.get_executor(), [this] {
        beast::error_code ec;
        acceptor_.close(ec);
    });
    if (auto e = gw_->current_engine()) {
        e->shutdown(cfg_.drain_timeout); // running streams finish or end with an error event
    }
    // Let the last events reach their clients, then close what is left.
    for (int i = 0; i < 100 && sessions_->size() > 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    sessions_->close_all();
    for (int i = 0; i < 100 && sessions_->size() > 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ioc_.stop();
    for (auto& t : threads_) {
        if (t.joinable()) {
            t.join();
        }
    }
    done_.set_value();
}

void server::wait() {
    done_future_.wait();
}

} // namespace radixrt::http
