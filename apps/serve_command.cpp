#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <sstream>

#include "apps/args.hpp"
#include "apps/commands.hpp"
#include "http/server.hpp"
#include "runtime/model.hpp"

namespace radixrt::apps {

namespace {

std::string read_file(const std::string& path, const char* what) {
    std::ifstream f(path);
    if (!f) {
        throw usage_error(std::string("cannot read ") + what + " '" + path + "'");
    }
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

} // namespace

// Builds the effective configuration: defaults, then --config FILE, then
// flags; everything goes through the same checks.
http::server_config serve_config(args& a) {
    http::server_config c;
    if (auto path = a.value("config")) {
        http::apply_json(c, read_file(*path, "config file"), *path);
    }
    auto set = [&](const char* flag, const std::string& key, bool quote) {
        if (auto v = a.value(flag)) {
            http::apply_setting(c, key + "=" + (quote ? "\"" + *v + "\"" : *v));
        }
    };
    set("model", "model.path", true);
    set("alias", "model.name", true);
    set("host", "server.host", true);
    set("port", "server.port", false);
    set("threads", "engine.threads_per_worker", false);
    set("workers", "engine.workers", false);
    set("http-threads", "server.threads", false);
    set("api-key", "server.api_key", true);
    set("chat-template", "model.chat_template", true);
    set("policy", "engine.policy", true);
    set("kv-type", "engine.kv_type", true);
    if (const auto mb = a.uint("kv-cache-mb", UINT64_MAX, 1u << 20); mb != UINT64_MAX) {
        http::apply_setting(c, "engine.kv_cache_bytes=" + std::to_string(mb << 20));
    }
    if (a.flag("no-cache")) {
        c.engine.cache_enabled = false;
    }
    if (a.flag("no-webui")) {
        c.webui = false;
    }
    set("api-key-file", "server.api_key_file", true);
    if (const char* env = std::getenv("RADIXRT_API_KEY");
        env != nullptr && c.api_key.empty() && c.api_key_file.empty()) {
        c.api_key = env;
    }
    for (const auto& s : a.values("set")) {
        http::apply_setting(c, s);
    }
    // Each --cors-origin adds to the list (the default or the config's).
    for (const auto& o : a.values("cors-origin")) {
        http::add_cors_origin(c, o);
    }
    return c;
}

int run_serve(std::vector<std::string> argv, std::ostream& out, std::ostream& err) {
    args a(std::move(argv));
    const bool print = a.flag("print-config");
    http::server_config cfg;
    try {
        cfg = serve_config(a);
    } catch (const http::config_error& e) {
        err << "radixrt: " << e.what() << "\n";
        return 2;
    }
    a.finish();
    if (print) {
        std::string shown = http::to_json(cfg);
        out << shown << "\n";
        return 0;
    }
    if (!cfg.engine.model_path.empty()) {
        // Refuse a file that cannot be served before listening: a missing
        // file, not GGUF, an unsupported architecture or tensor type (the
        // engine loads it again; the file is mapped, not read).
        try {
            runtime::model::load(cfg.engine.model_path);
        } catch (const std::exception& e) {
            const std::string path = "'" + cfg.engine.model_path + "'", what = e.what();
            // the loader's messages start with the path already
            err << "radixrt: cannot serve " << (what.rfind(path, 0) == 0 ? "" : path + ": ") << what
                << "\n";
            return 1;
        }
    }
    http::server srv(cfg);
    // Signals are delivered to this io_context, not handled in a signal
    // handler; a failed load stops it too.
    boost::asio::io_context signals_ioc;
    boost::asio::signal_set signals(signals_ioc, SIGINT, SIGTERM);
    std::atomic<bool> load_failed{false};
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
        if (!ec) {
            err << "radixrt: signal " << sig << ", /health now 503; draining after "
                << cfg.drain_grace.count() << " ms (up to " << cfg.drain_timeout.count() << " ms)\n"
                << std::flush;
            srv.shutdown();
        }
    });
    try {
        srv.start([&](bool ok, const std::string& msg) {
            if (ok) {
                const auto st = srv.api()->current_engine()->stats();
                err << "radixrt: model ready; KV cache " << (st.kv_bytes >> 20) << " MiB ("
                    << cfg.engine.kv_type << ") holds " << st.kv_capacity_tokens << " tokens\n"
                    << std::flush;
                return;
            }
            err << "radixrt: cannot load the model: " << msg << "\n" << std::flush;
            load_failed = true;
            boost::asio::post(signals_ioc, [&signals] { signals.cancel(); });
        });
    } catch (const std::exception& e) {
        err << "radixrt: " << e.what() << "\n";
        return 1;
    }
    err << "radixrt: listening on http://" << cfg.host << ":" << srv.port() << " ("
        << (cfg.engine.model_path.empty() ? "built-in model" : cfg.engine.model_path) << ")\n"
        << std::flush;
    std::thread waiter([&] {
        srv.wait(); // also ends when shutdown comes from elsewhere
        signals.cancel();
    });
    signals_ioc.run();
    if (load_failed) {
        srv.shutdown(); // a server that cannot answer does not stay up
    }
    waiter.join();
    if (load_failed || !srv.api()->ready()) {
        return 1; // the model never loaded
    }
    err << "radixrt: stopped\n";
    return 0;
}

} // namespace radixrt::apps
