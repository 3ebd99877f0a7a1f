// The playground page in a real browser: Debian's Chromium, headless, driven
// over the DevTools protocol (a WebSocket, spoken here with Beast). Opens `/`
// on a live server with the built-in model, types a message and presses
// Enter, waits for streamed text, sends a second chat with the same system
// prompt and waits for the cache view to show the shared prefix; no console
// error or uncaught exception at any point, no horizontal overflow on a
// phone-sized screen. Screenshots go to the build folder
// (tests/web/artifacts/), as CI artifacts.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/http/live_server.hpp"

namespace rt = radixrt::test;
namespace fs = std::filesystem;
namespace beast = boost::beast;
namespace net = boost::asio;
using json = nlohmann::json;

namespace {

std::string find_chromium() {
    for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
        if (::access(p, X_OK) == 0) {
            return p;
        }
    }
    return {};
}

// Chromium headless with the DevTools endpoint on a free port; killed (with
// its children) when this goes out of scope.
class chromium {
  public:
    explicit chromium(const std::string& exe) {
        profile_ = fs::temp_directory_path() / ("radixrt-browser-" + std::to_string(::getpid()));
        fs::remove_all(profile_);
        fs::create_directories(profile_);
        const std::string profile_arg = "--user-data-dir=" + profile_.string();
        pid_ = ::fork();
        if (pid_ == 0) {
            ::setpgid(0, 0);
            const int devnull = ::open("/dev/null", O_WRONLY);
            ::dup2(devnull, 1);
            ::dup2(devnull, 2);
            // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
            ::execl(exe.c_str(), exe.c_str(), "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                    "--remote-debugging-port=0", profile_arg.c_str(), "about:blank",
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
    }
    ~chromium() {
        if (pid_ > 0) {
            ::kill(-pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        std::error_code ec;
        fs::remove_all(profile_, ec);
    }
    // The DevTools port, once Chromium has written it (0 if it did not).
    unsigned port() const {
        unsigned p = 0;
        rt::wait_until(
            [&] {
                std::ifstream in(profile_ / "DevToolsActivePort");
                return static_cast<bool>(in >> p) && p != 0;
            },
            std::chrono::seconds(60));
        return p;
    }

  private:
    fs::path profile_;
    pid_t pid_ = -1;
};

// One DevTools session on a page target: commands with ids, and the page's
// console errors and uncaught exceptions collected from the events between.
class devtools {
  public:
    devtools(unsigned port, const std::string& path) : ws_(ioc_) {
        auto& tcp = beast::get_lowest_layer(ws_);
        tcp.connect({net::ip::make_address("127.0.0.1"), net::ip::port_type(port)});
        tcp.expires_never();
        ws_.read_message_max(64u << 20); // screenshots
        ws_.handshake("127.0.0.1:" + std::to_string(port), path);
    }

    json call(const std::string& method, json params = json::object()) {
        const int id = ++next_id_;
        ws_.write(net::buffer(json{{"id", id}, {"method", method}, {"params", params}}.dump()));
        for (;;) {
            beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(60));
            beast::flat_buffer buf;
            ws_.read(buf);
            const auto msg = json::parse(beast::buffers_to_string(buf.data()));
            if (msg.contains("id") && msg["id"] == id) {
                if (msg.contains("error")) {
                    throw std::runtime_error(method + ": " + msg["error"].dump());
                }
                return msg["result"];
            }
            note_event(msg);
        }
    }

    // Evaluates a JavaScript expression in the page; its value.
    json eval(const std::string& expr) {
        const auto r =
            call("Runtime.evaluate", {{"expression", expr}, {"returnByValue", true}});
        if (r.contains("exceptionDetails")) {
            throw std::runtime_error(expr + ": " + r["exceptionDetails"].dump());
        }
        return r["result"].value("value", json());
    }

    bool wait_for(const std::string& expr, std::chrono::seconds limit = std::chrono::seconds(90)) {
        return rt::wait_until([&] { return eval(expr) == true; }, limit);
    }

    void type_and_enter(const std::string& selector, const std::string& text) {
        eval("document.querySelector('" + selector + "').focus()");
        call("Input.insertText", {{"text", text}});
        for (const char* type : {"rawKeyDown", "keyUp"}) {
            call("Input.dispatchKeyEvent", {{"type", type},
                                            {"key", "Enter"},
                                            {"code", "Enter"},
                                            {"windowsVirtualKeyCode", 13}});
        }
    }

    void screenshot(const fs::path& file) {
        const auto data = call("Page.captureScreenshot", {{"format", "png"}})["data"].get<std::string>();
        std::string png(beast::detail::base64::decoded_size(data.size()), '\0');
        const auto n = beast::detail::base64::decode(png.data(), data.data(), data.size());
        png.resize(n.first);
        fs::create_directories(file.parent_path());
        std::ofstream(file, std::ios::binary) << png;
    }

    const std::vector<std::string>& errors() const { return errors_; }

  private:
    void note_event(const json& msg) {
        const auto method = msg.value("method", "");
        if (method == "Runtime.exceptionThrown") {
            errors_.push_back("exception: " + msg["params"]["exceptionDetails"].dump());
        } else if (method == "Runtime.consoleAPICalled" && msg["params"].value("type", "") == "error") {
            errors_.push_back("console.error: " + msg["params"]["args"].dump());
        } else if (method == "Log.entryAdded" && msg["params"]["entry"].value("level", "") == "error") {
            errors_.push_back("log: " + msg["params"]["entry"].dump());
        }
    }

    net::io_context ioc_;
    beast::websocket::stream<beast::tcp_stream> ws_;
    int next_id_ = 0;
    std::vector<std::string> errors_;
};

// The DevTools WebSocket path of the first page target.
std::string page_target(unsigned port) {
    std::string path;
    rt::wait_until([&] {
        const auto r = rt::request(port, "GET", "/json/list");
        if (r.status != 200) {
            return false;
        }
        for (const auto& t : json::parse(r.body)) {
            if (t.value("type", "") == "page") {
                const auto url = t["webSocketDebuggerUrl"].get<std::string>();
                path = url.substr(url.find('/', std::string("ws://").size()));
                return true;
            }
        }
        return false;
    });
    return path;
}

const char* last_answer_done =
    "(() => { const m = document.querySelectorAll('#messages li.assistant');"
    "  const a = m[m.length - 1];"
    "  return !!a && !a.classList.contains('streaming') && a.querySelector('.meta').textContent.length > 0; })()";

TEST(playground_browser, chat_streams_and_the_cache_view_shows_the_shared_prefix) {
    const auto exe = find_chromium();
    ASSERT_FALSE(exe.empty()) << "Chromium is not installed (scripts/setup.sh installs it)";
    rt::live_server srv;
    chromium browser(exe);
    const auto dt_port = browser.port();
    ASSERT_NE(dt_port, 0u) << "Chromium did not report its DevTools port";
    devtools page(dt_port, page_target(dt_port));
    page.call("Runtime.enable");
    page.call("Log.enable");
    page.call("Page.enable");
    const fs::path artifacts = fs::path(RADIXRT_BINARY_DIR) / "tests/web/artifacts";

    const std::string url = "http://127.0.0.1:" + std::to_string(srv.port()) + "/";
    page.call("Page.navigate", {{"url", url}});
    ASSERT_TRUE(page.wait_for(
        "document.readyState === 'complete' && "
        "document.getElementById('server-status').textContent.startsWith('model ')"));

    // A system prompt, then a message typed and sent with Enter.
    page.eval("(() => { const s = document.getElementById('system');"
              "  s.value = 'You are a careful assistant who answers in short sentences.';"
              "  s.dispatchEvent(new Event('change')); "
              "  document.getElementById('max_tokens').value = '12'; })()");
    page.type_and_enter("#input", "Tell me about the sea.");
    ASSERT_TRUE(page.wait_for(
        "document.querySelectorAll('#messages li.assistant .text').length === 1 && "
        "document.querySelector('#messages li.assistant .text').textContent.length > 0"))
        << "no streamed text appeared";
    ASSERT_TRUE(page.wait_for(last_answer_done));
    EXPECT_EQ(page.eval("document.getElementById('input').value"), "");
    EXPECT_EQ(page.eval("document.getElementById('key-form').offsetParent"), nullptr)
        << "the key form shows on a server without a key";

    // A new conversation with the same system prompt: its prompt starts
    // with the first one's, so the server serves that part from the cache.
    page.eval("document.getElementById('clear').click()");
    page.type_and_enter("#input", "Tell me about the hills.");
    ASSERT_TRUE(page.wait_for(
        "document.querySelectorAll('#messages li.assistant').length === 1 && " +
        std::string(last_answer_done)));
    const auto meta = page.eval("document.querySelector('#messages li.assistant .meta').textContent")
                          .get<std::string>();
    const auto at = meta.find("cached ");
    ASSERT_NE(at, std::string::npos) << meta;
    EXPECT_GT(std::stoi(meta.substr(at + 7)), 0) << meta;
    // The cache view: nodes drawn, the shared prefix a node with children.
    EXPECT_TRUE(page.wait_for("document.querySelectorAll('#graph svg circle').length >= 2"));
    EXPECT_TRUE(page.wait_for(
        "[...document.querySelectorAll('#stats dt')].some(d => d.textContent === 'hit ratio' && "
        "parseFloat(d.nextElementSibling.textContent) > 0)"));
    page.call("Emulation.setDeviceMetricsOverride",
              {{"width", 1280}, {"height", 1000}, {"deviceScaleFactor", 1}, {"mobile", false}});
    page.screenshot(artifacts / "playground.png");

    // Stop cancels: a long answer (the model's context is 2048), stopped
    // while it streams, ends marked "stopped". The model may end an answer
    // by itself before the click lands; then the attempt is repeated.
    page.eval("document.getElementById('max_tokens').value = '1900'");
    bool stopped = false;
    for (int attempt = 0; attempt < 5 && !stopped; ++attempt) {
        page.eval("document.getElementById('clear').click()");
        page.type_and_enter("#input", "And now a very long story.");
        ASSERT_TRUE(page.wait_for(
            "document.querySelectorAll('#messages li.assistant').length === 1 && ("
            "  !document.getElementById('stop-btn').disabled || " + std::string(last_answer_done) + ")"));
        page.eval("document.getElementById('stop-btn').click()");
        ASSERT_TRUE(page.wait_for(last_answer_done));
        stopped = page.eval("document.querySelector('#messages li.assistant .meta').textContent"
                            ".includes('stopped')") == true;
    }
    EXPECT_TRUE(stopped) << "the Stop button never ended an answer";
    EXPECT_TRUE(srv.back_to_baseline()) << "the stopped request still holds KV blocks";

    // A phone-sized screen: one column, nothing wider than the viewport.
    page.call("Emulation.setDeviceMetricsOverride",
              {{"width", 375}, {"height", 740}, {"deviceScaleFactor", 1}, {"mobile", true}});
    EXPECT_TRUE(page.wait_for("document.documentElement.scrollWidth <= window.innerWidth"));
    page.screenshot(artifacts / "playground-narrow.png");

    EXPECT_TRUE(page.errors().empty()) << page.errors().front();
}

} // namespace
