// The playground page: the files under web/ are served byte for byte from
// the binary, with content types, ETags and conditional GET; open without
// an API key (the API behind it is not); off with server.webui = false.
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "http/web_assets.hpp"
#include "tests/http/live_server.hpp"

namespace rt = radixrt::test;
namespace rh = radixrt::http;

namespace {

std::string source_file(const std::string& rel) {
    std::ifstream in(std::string(RADIXRT_SOURCE_DIR) + "/" + rel, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(web_ui, serves_every_file_of_web_byte_for_byte) {
    rt::live_server srv;
    const struct {
        const char* path;
        const char* file;
        const char* type;
    } cases[] = {
        {"/", "web/index.html", "text/html; charset=utf-8"},
        {"/index.html", "web/index.html", "text/html; charset=utf-8"},
        {"/app.js", "web/app.js", "text/javascript; charset=utf-8"},
        {"/style.css", "web/style.css", "text/css; charset=utf-8"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.path);
        const auto r = rt::request(srv.port(), "GET", c.path);
        ASSERT_EQ(r.status, 200u);
        const auto expected = source_file(c.file);
        ASSERT_FALSE(expected.empty());
        EXPECT_EQ(r.body, expected);
        EXPECT_EQ(r.headers.at("Content-Type"), c.type);
        EXPECT_EQ(r.headers.at("Cache-Control"), "no-cache");
        EXPECT_EQ(r.headers.at("X-Content-Type-Options"), "nosniff");
    }
}

TEST(web_ui, conditional_get_answers_304_for_the_current_etag_only) {
    rt::live_server srv;
    const auto first = rt::request(srv.port(), "GET", "/app.js");
    ASSERT_EQ(first.status, 200u);
    const auto etag = first.headers.at("ETag");
    ASSERT_GE(etag.size(), 3u);
    EXPECT_EQ(etag.front(), '"');
    // Another file has another tag (tags are hashes of the bytes).
    EXPECT_NE(rt::request(srv.port(), "GET", "/style.css").headers.at("ETag"), etag);

    for (const std::string& inm : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
        SCOPED_TRACE(inm);
        const auto r = rt::request(srv.port(), "GET", "/app.js", "", {{"If-None-Match", inm}});
        EXPECT_EQ(r.status, 304u);
        EXPECT_TRUE(r.body.empty());
        EXPECT_EQ(r.headers.at("ETag"), etag);
    }
    const auto stale =
        rt::request(srv.port(), "GET", "/app.js", "", {{"If-None-Match", "\"stale\""}});
    EXPECT_EQ(stale.status, 200u);
    EXPECT_EQ(stale.body, first.body);
}

TEST(web_ui, every_file_the_page_references_is_served) {
    rt::live_server srv;
    const auto page = rt::request(srv.port(), "GET", "/").body;
    const std::regex ref(R"re((?:href|src)="(/[^"]*)")re");
    std::set<std::string> refs;
    for (auto it = std::sregex_iterator(page.begin(), page.end(), ref); it != std::sregex_iterator();
         ++it) {
        refs.insert((*it)[1].str());
    }
    EXPECT_GE(refs.size(), 2u); // the script and the style sheet at least
    for (const auto& r : refs) {
        SCOPED_TRACE(r);
        EXPECT_EQ(rt::request(srv.port(), "GET", r).status, 200u);
    }
}

TEST(web_ui, the_page_is_open_while_the_api_asks_for_the_key) {
    auto cfg = rt::live_server::base_config();
    cfg.api_key = "sekret";
    rt::live_server srv(cfg);
    EXPECT_EQ(rt::request(srv.port(), "GET", "/").status, 200u);
    EXPECT_EQ(rt::request(srv.port(), "GET", "/v1/cache").status, 401u);
    EXPECT_EQ(
        rt::request(srv.port(), "GET", "/v1/cache", "", {{"Authorization", "Bearer sekret"}}).status,
        200u);
}

TEST(web_ui, is_off_with_webui_false) {
    auto cfg = rt::live_server::base_config();
    cfg.webui = false;
    rt::live_server srv(cfg);
    EXPECT_EQ(rt::request(srv.port(), "GET", "/").status, 404u);
    EXPECT_EQ(rt::request(srv.port(), "GET", "/app.js").status, 404u);
}

TEST(web_ui, other_methods_and_unknown_files_are_not_assets) {
    rt::live_server srv;
    EXPECT_EQ(rt::request(srv.port(), "GET", "/nope.js").status, 404u);
    EXPECT_EQ(rt::request(srv.port(), "POST", "/", "{}").status, 404u);
}

TEST(web_ui, etag_matching_follows_if_none_match_syntax) {
    const std::string tag = "\"abc\"";
    EXPECT_TRUE(rh::etag_matches("\"abc\"", tag));
    EXPECT_TRUE(rh::etag_matches("W/\"abc\"", tag));
    EXPECT_TRUE(rh::etag_matches("\"x\", \"abc\"", tag));
    EXPECT_TRUE(rh::etag_matches("\"x\",\"abc\" ", tag));
    EXPECT_TRUE(rh::etag_matches("*", tag));
    EXPECT_FALSE(rh::etag_matches("", tag));
    EXPECT_FALSE(rh::etag_matches("\"abcd\"", tag));
    EXPECT_FALSE(rh::etag_matches("abc", tag));
    EXPECT_FALSE(rh::etag_matches("\"ab\", \"c\"", tag));
}

} // namespace
