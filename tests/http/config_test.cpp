#include "http/config.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "http/chat_template.hpp"

namespace rh = radixrt::http;

namespace {
std::string error_of(const std::string& json) {
    rh::server_config c;
    try {
        rh::apply_json(c, json, "test.json");
    } catch (const rh::config_error& e) {
        return e.what();
    }
    return "";
}
} // namespace

TEST(config, values_apply_and_round_trip) {
    rh::server_config c;
    rh::apply_json(
        c,
        R"({"server":{"port":9001,"api_key":"k"},"engine":{"policy":"fcfs","workers":2},"cache":{"enabled":false}})",
        "x");
    EXPECT_EQ(c.port, 9001u);
    EXPECT_EQ(c.api_key, "k");
    EXPECT_EQ(c.engine.policy, "fcfs");
    EXPECT_EQ(c.engine.workers, 2u);
    EXPECT_FALSE(c.engine.cache_enabled);
    rh::server_config d;
    rh::apply_json(d, rh::to_json(c), "printed");
    EXPECT_EQ(rh::to_json(d), rh::to_json(c));
    rh::apply_setting(d, "server.port=9002");
    rh::apply_setting(d, "model.path=/x.gguf"); // a bare string
    EXPECT_EQ(d.port, 9002u);
    EXPECT_EQ(d.engine.model_path, "/x.gguf");
    rh::apply_setting(d, "server.port=0"); // an ephemeral port
    rh::apply_setting(d, "server.drain_grace_ms=1500");
    EXPECT_EQ(d.port, 0u);
    EXPECT_EQ(d.drain_grace, std::chrono::milliseconds(1500));
}

TEST(config, errors_name_the_key) {
    EXPECT_NE(error_of(R"({"server":{"prot":1}})").find("unknown key 'server.prot'"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"server":{"port":"80"}})").find("server.port: expected an integer"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"server":{"port":70000}})").find("server.port"), std::string::npos);
    EXPECT_NE(error_of(R"({"engine":{"policy":"random"}})")
                  .find("engine.policy: expected one of lpm, fcfs"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"cache":{"enabled":1}})").find("cache.enabled: expected true or false"),
              std::string::npos);
    EXPECT_NE(error_of("{oops").find("not valid JSON"), std::string::npos);
    EXPECT_NE(error_of("[1]").find("expected an object"), std::string::npos);
}

TEST(config, shipped_configs_load) {
    for (const char* f : {"default.json", "bench-shared-prefix.json"}) {
        std::ifstream in(std::string(RADIXRT_SOURCE_DIR) + "/configs/" + f);
        ASSERT_TRUE(in) << f;
        std::string text((std::istreambuf_iterator<char>(in)), {});
        EXPECT_EQ(error_of(text), "") << f;
    }
    // default.json states the defaults, every key.
    std::ifstream in(std::string(RADIXRT_SOURCE_DIR) + "/configs/default.json");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    rh::server_config c;
    rh::apply_json(c, text, "default.json");
    EXPECT_EQ(rh::to_json(c), rh::to_json(rh::server_config{}));
}

TEST(chat_template, families_are_detected_and_rendered) {
    EXPECT_EQ(rh::detect_chat_format("{% for m in messages %}<|im_start|>{{m.role}}"),
              rh::chat_format::chatml);
    EXPECT_EQ(rh::detect_chat_format("<|start_header_id|>"), rh::chat_format::llama3);
    EXPECT_EQ(rh::detect_chat_format("[INST] <<SYS>>"), rh::chat_format::llama2);
    EXPECT_EQ(rh::detect_chat_format("[INST]"), rh::chat_format::mistral);
    EXPECT_EQ(rh::detect_chat_format("<|user|>"), rh::chat_format::zephyr);
    EXPECT_EQ(rh::detect_chat_format(""), rh::chat_format::simple);
    const std::vector<rh::chat_message> m = {{"system", "S"}, {"user", "U"}};
    EXPECT_EQ(
        rh::render_chat(rh::chat_format::chatml, m),
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n");
    EXPECT_EQ(rh::render_chat(rh::chat_format::llama2, m),
              "[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST]");
    EXPECT_EQ(rh::render_chat(rh::chat_format::simple, m), "system: S\nuser: U\nassistant:");
}
