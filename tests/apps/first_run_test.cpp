// First run without friction: a model that cannot be served stops `serve`
// with one line and a non-zero exit; a load failure is an error, never
// "loading"; per-command usage; --version; the served model id; the client's
// base URL, key and upgrade errors.
#include "apps/commands.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "clients/transport.hpp"
#include "runtime/gguf.hpp"
#include "runtime/synthetic.hpp"
#include "tests/apps/run_cli.hpp"
#include "tests/http/live_server.hpp"

namespace ra = radixrt::apps;
namespace rh = radixrt::http;
namespace rt = radixrt::test;
namespace rr = radixrt::runtime;

namespace {

using radixrt::test::cli;
using result = radixrt::test::cli_result;

std::string temp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() /
            ("radixrt_first_run_" + std::to_string(::getpid()) + "_" + name))
        .string();
}

std::size_t lines(const std::string& s) {
    return std::size_t(std::count(s.begin(), s.end(), '\n'));
}

TEST(first_run, serve_refuses_a_model_it_cannot_serve_in_one_line) {
    const auto text = temp_path("notes.gguf"), arch = temp_path("mamba.gguf");
    {
        std::ofstream f(text);
        f << "these are notes, not a model\n";
    }
    rr::gguf_writer w;
    w.add("general.architecture", std::string("mamba"));
    w.write(arch);
    struct row {
        std::vector<std::string> args;
        std::string says;
    };
    const std::vector<row> rows = {
        {{"serve", "--port", "0", "--model", "/no/such/model.gguf"}, "cannot open"},
        {{"serve", "--port", "0", "--model", text}, "not a GGUF file"},
        {{"serve", "--port", "0", "--model", arch}, "architecture 'mamba' is not supported"},
        {{"serve", "--port", "0", "--model", std::filesystem::temp_directory_path().string()},
         "not a regular file"},
    };
    for (const auto& r : rows) {
        const auto got = cli(r.args);
        EXPECT_EQ(got.code, 1) << got.err;
        EXPECT_EQ(lines(got.err), 1u) << got.err;
        EXPECT_EQ(got.err.rfind("radixrt: cannot serve '", 0), 0u) << got.err;
        EXPECT_NE(got.err.find(r.says), std::string::npos) << got.err;
        EXPECT_EQ(got.err.find("listening"), std::string::npos) << got.err;
    }
    std::filesystem::remove(text);
    std::filesystem::remove(arch);
}

TEST(first_run, serve_exits_when_the_load_fails_after_listening) {
    // The model is fine; its chat template is not, which shows only when
    // the engine loads in the background.
    const auto r = cli({"serve", "--port", "0", "--chat-template", "/no/such/template.jinja"});
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("radixrt: cannot load the model: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("/no/such/template.jinja"), std::string::npos) << r.err;
}

TEST(first_run, a_failed_load_is_an_error_on_health_not_loading) {
    rh::server_config c = rt::live_server::base_config();
    c.port = 0;
    c.chat_template = "/no/such/template.jinja";
    rh::server srv(c);
    srv.start();
    ASSERT_TRUE(rt::wait_until([&] { return srv.api()->load_error().has_value(); }));
    const auto health = rt::request(srv.port(), "GET", "/health");
    EXPECT_EQ(health.status, 503u);
    const auto h = nlohmann::json::parse(health.body);
    EXPECT_EQ(h["status"], "error");
    EXPECT_NE(h["error"].get<std::string>().find("template.jinja"), std::string::npos);
    const auto models = rt::request(srv.port(), "GET", "/v1/models");
    EXPECT_EQ(models.status, 503u);
    EXPECT_EQ(nlohmann::json::parse(models.body)["error"]["code"], "model_load_failed");
    srv.shutdown();
}

TEST(first_run, each_command_prints_its_own_usage) {
    for (const std::string cmd : {"serve", "bench", "client", "generate", "model"}) {
        const auto r = cli({cmd, "--help"});
        EXPECT_EQ(r.code, 0) << cmd;
        EXPECT_NE(r.out.find("radixrt " + cmd + " "), std::string::npos) << r.out;
        for (const std::string other : {"serve", "bench", "client", "generate", "model"}) {
            if (other != cmd) {
                EXPECT_EQ(r.out.find("radixrt " + other + " "), std::string::npos)
                    << cmd << " --help shows " << other;
            }
        }
    }
    // A usage error: the one-line reason, then that command's usage only.
    const auto bad = cli({"client", "--frobnicate"});
    EXPECT_EQ(bad.code, 2);
    EXPECT_EQ(bad.err.rfind("radixrt: unknown argument '--frobnicate'\n", 0), 0u) << bad.err;
    EXPECT_NE(bad.err.find("radixrt client "), std::string::npos);
    EXPECT_EQ(bad.err.find("radixrt serve "), std::string::npos) << bad.err;
    for (const auto& [args, says] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"serve", "--kv-cache-mb", "lots"}, "--kv-cache-mb expects a whole number"},
             {{"bench", "--request-rate", "fast"}, "--request-rate expects a positive number"}}) {
        const auto r = cli(args);
        EXPECT_EQ(r.code, 2) << r.err;
        EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("radixrt " + args[0] + " ["), std::string::npos) << r.err;
    }
    const auto unknown = cli({"frobnicate", "--help"});
    EXPECT_EQ(unknown.code, 2);
    EXPECT_NE(unknown.err.find("unknown command 'frobnicate'"), std::string::npos);
}

TEST(first_run, version_names_build_and_kernels) {
    const auto r = cli({"--version"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out.rfind("radixrt 0.", 0), 0u) << r.out;
    EXPECT_NE(r.out.find("(commit "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("compiler: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("kernels:  built for scalar"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("; active "), std::string::npos) << r.out;
}

TEST(first_run, model_id_is_the_file_name_without_extension_or_the_alias) {
    const auto dir = temp_path("models");
    std::filesystem::create_directories(dir);
    const auto path = dir + "/m110.gguf";
    rr::synth_gguf(rr::synth_preset("tiny")).write(path);
    auto c = rt::live_server::base_config();
    c.engine.model_path = path;
    {
        rt::live_server s(c);
        const auto m = nlohmann::json::parse(rt::request(s.port(), "GET", "/v1/models").body);
        EXPECT_EQ(m["data"][0]["id"], "m110");
        const auto named = rt::post(s.port(), "/v1/completions",
                                    rt::completion("hi", 1, false, R"(,"model":"m110")"));
        EXPECT_EQ(named.status, 200u) << named.body;
    }
    const auto shown = cli({"serve", "--alias", "tiny-chat", "--print-config"});
    ASSERT_EQ(shown.code, 0) << shown.err;
    EXPECT_EQ(nlohmann::json::parse(shown.out)["model"]["name"], "tiny-chat");
    c.model_name = "tiny-chat";
    rt::live_server aliased(c);
    const auto m = nlohmann::json::parse(rt::request(aliased.port(), "GET", "/v1/models").body);
    EXPECT_EQ(m["data"][0]["id"], "tiny-chat");
    std::filesystem::remove_all(dir);
}

TEST(first_run, cors_origins_from_flags_add_to_the_list) {
    const auto r = cli({"serve", "--cors-origin", "https://app.example.com", "--cors-origin", "*",
                        "--print-config"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto list = nlohmann::json::parse(r.out)["server"]["cors"]["allowed_origins"];
    EXPECT_EQ(list.size(), 5u) << list; // the three defaults, then the flags
    EXPECT_EQ(list[3], "https://app.example.com");
    EXPECT_EQ(list[4], "*");
    const auto bad = cli({"serve", "--cors-origin", "app.example.com", "--print-config"});
    EXPECT_EQ(bad.code, 2);
    EXPECT_NE(bad.err.find("http:// or https://"), std::string::npos) << bad.err;
}

TEST(first_run, client_base_url_with_or_without_v1) {
    for (const std::string url : {"http://h:9/", "http://h:9/v1", "http://h:9/v1/", "http://h:9"}) {
        const auto t = radixrt::clients::parse_base_url(url);
        EXPECT_EQ(t.prefix, "") << url;
        EXPECT_EQ(t.port, 9u);
    }
    EXPECT_EQ(radixrt::clients::parse_base_url("http://h:9/proxy/v1/").prefix, "/proxy");
}

TEST(first_run, client_reads_the_key_from_the_environment_and_shows_refusals) {
    auto c = rt::live_server::base_config();
    c.api_key = "s3cret";
    rt::live_server s(c);
    const std::string url = "http://127.0.0.1:" + std::to_string(s.port()) + "/v1/";
    ::unsetenv("RADIXRT_API_KEY");
    const auto refused = cli({"client", "--ws", "--base-url", url, "--max-tokens", "2"});
    EXPECT_EQ(refused.code, 1);
    EXPECT_NE(refused.err.find("WebSocket upgrade refused: HTTP 401: missing or invalid API key"),
              std::string::npos)
        << refused.err;
    ::setenv("RADIXRT_API_KEY", "s3cret", 1);
    for (const std::vector<std::string>& mode :
         {std::vector<std::string>{"--ws"}, {"--chat"}, {}}) {
        std::vector<std::string> args = {"client", "--base-url", url, "--max-tokens", "2"};
        args.insert(args.end(), mode.begin(), mode.end());
        const auto ok = cli(args);
        EXPECT_EQ(ok.code, 0) << ok.err;
    }
    ::unsetenv("RADIXRT_API_KEY");
}

} // namespace
