#include "http/config.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "http/cors.hpp"

namespace radixrt::http {

using nlohmann::json;

namespace {

// One entry per key: how to read it from JSON (with checks) and write it.
struct field {
    std::function<void(server_config&, const json&, const std::string&)> read;
    std::function<json(const server_config&)> write;
};

[[noreturn]] void fail(const std::string& path, const std::string& what, const json& got) {
    throw config_error("config: " + path + ": " + what + ", got " + got.dump());
}

// An unsigned integer in [lo, hi]; ref(config) names where it lives.
template <typename Ref> field integer(Ref ref, std::uint64_t lo, std::uint64_t hi) {
    return {[=](server_config& c, const json& v, const std::string& path) {
                if (!v.is_number_integer() || v.get<std::int64_t>() < 0 ||
                    v.get<std::uint64_t>() < lo || v.get<std::uint64_t>() > hi) {
                    fail(path,
                         "expected an integer in [" + std::to_string(lo) + ", " +
                             std::to_string(hi) + "]",
                         v);
                }
                auto& target = ref(c);
                target = std::remove_reference_t<decltype(target)>(v.get<std::uint64_t>());
            },
            [=](const server_config& c) {
                return json(std::uint64_t(ref(const_cast<server_config&>(c))));
            }};
}

template <typename T> field integer(T server_config::*member, std::uint64_t lo, std::uint64_t hi) {
    return integer([member](server_config& c) -> T& { return c.*member; }, lo, hi);
}

template <typename T>
field engine_integer(T engine_config::*member, std::uint64_t lo, std::uint64_t hi) {
    return integer([member](server_config& c) -> T& { return c.engine.*member; }, lo, hi);
}

field millis(std::chrono::milliseconds server_config::*member, std::uint64_t lo, std::uint64_t hi) {
    return {[=](server_config& c, const json& v, const std::string& path) {
                if (!v.is_number_integer() || v.get<std::int64_t>() < std::int64_t(lo) ||
                    v.get<std::int64_t>() > std::int64_t(hi)) {
                    fail(path,
                         "expected milliseconds in [" + std::to_string(lo) + ", " +
                             std::to_string(hi) + "]",
                         v);
                }
                c.*member = std::chrono::milliseconds(v.get<std::int64_t>());
            },
            [=](const server_config& c) { return json((c.*member).count()); }};
}

field text(std::function<std::string&(server_config&)> ref, std::vector<std::string> allowed = {}) {
    return {[=](server_config& c, const json& v, const std::string& path) {
                if (!v.is_string()) {
                    fail(path, "expected a string", v);
                }
                const auto s = v.get<std::string>();
                // "*.jinja" in allowed admits any path with that extension.
                const bool jinja_path =
                    s.size() > 6 && s.ends_with(".jinja") &&
                    std::find(allowed.begin(), allowed.end(), "*.jinja") != allowed.end();
                if (!allowed.empty() && !jinja_path &&
                    std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
                    std::string list;
                    for (const auto& a : allowed) {
                        list += (list.empty() ? "" : ", ") + a;
                    }
                    fail(path, "expected one of " + list, v);
                }
                ref(c) = s;
            },
            [=](const server_config& c) { return json(ref(const_cast<server_config&>(c))); }};
}

field boolean(std::function<bool&(server_config&)> ref) {
    return {[=](server_config& c, const json& v, const std::string& path) {
                if (!v.is_boolean()) {
                    fail(path, "expected true or false", v);
                }
                ref(c) = v.get<bool>();
            },
            [=](const server_config& c) { return json(ref(const_cast<server_config&>(c))); }};
}

// A list of allowed origins (each checked).
field origins() {
    return {[](server_config& c, const json& v, const std::string& path) {
                if (!v.is_array()) {
                    fail(path, "expected an array of origins", v);
                }
                std::vector<std::string> list;
                for (const auto& e : v) {
                    const auto why = e.is_string() ? check_origin_entry(e.get<std::string>())
                                                   : std::string("expected a string");
                    if (!why.empty()) {
                        fail(path, why, e);
                    }
                    list.push_back(e.get<std::string>());
                }
                c.cors_allowed_origins = std::move(list);
            },
            [](const server_config& c) { return json(c.cors_allowed_origins); }};
}

const std::map<std::string, field>& fields() {
    static const std::map<std::string, field> f = {
        {"server.host", text([](server_config& c) -> std::string& { return c.host; })},
        {"server.port", integer(&server_config::port, 0, 65535)},
        {"server.threads", integer(&server_config::threads, 1, 256)},
        {"server.api_key", text([](server_config& c) -> std::string& { return c.api_key; })},
        {"server.api_key_file",
         text([](server_config& c) -> std::string& { return c.api_key_file; })},
        {"server.max_connections", integer(&server_config::max_connections, 1, 1u << 20)},
        {"server.max_body_bytes", integer(&server_config::max_body_bytes, 1024, 1u << 30)},
        {"server.header_timeout_ms", millis(&server_config::header_timeout, 100, 3600000)},
        {"server.idle_timeout_ms", millis(&server_config::idle_timeout, 100, 86400000)},
        {"server.drain_timeout_ms", millis(&server_config::drain_timeout, 0, 3600000)},
        {"server.drain_grace_ms", millis(&server_config::drain_grace, 0, 600000)},
        {"server.max_stream_buffer_bytes",
         integer(&server_config::max_stream_buffer_bytes, 4096, 1u << 30)},
        {"server.max_json_depth", integer(&server_config::max_json_depth, 2, 10000)},
        {"server.webui", boolean([](server_config& c) -> bool& { return c.webui; })},
        {"server.max_requests_per_connection",
         integer(&server_config::max_requests_per_connection, 1, 1u << 20)},
        {"server.max_requests_per_tenant",
         integer(&server_config::max_requests_per_tenant, 0, 1u << 20)},
        {"server.cors.allowed_origins", origins()},
        {"model.path", text([](server_config& c) -> std::string& { return c.engine.model_path; })},
        {"model.name", text([](server_config& c) -> std::string& { return c.model_name; })},
        {"model.chat_template",
         text([](server_config& c) -> std::string& { return c.chat_template; },
              {"auto", "chatml", "llama2", "llama3", "mistral", "zephyr", "simple", "*.jinja"})},
        {"model.builtin_seed", engine_integer(&engine_config::builtin_seed, 0, UINT64_MAX)},
        {"engine.workers", engine_integer(&engine_config::workers, 1, 64)},
        {"engine.threads_per_worker", engine_integer(&engine_config::threads_per_worker, 1, 1024)},
        {"engine.io_threads", engine_integer(&engine_config::io_threads, 1, 64)},
        {"engine.kv_type",
         text([](server_config& c) -> std::string& { return c.engine.kv_type; }, {"f16", "f32"})},
        {"engine.kv_cache_bytes",
         engine_integer(&engine_config::kv_cache_bytes, 1u << 16, std::uint64_t(1) << 40)},
        {"engine.block_size", engine_integer(&engine_config::block_size, 1, 1024)},
        {"engine.max_batch_tokens", engine_integer(&engine_config::max_batch_tokens, 1, 1u << 20)},
        {"engine.max_running", engine_integer(&engine_config::max_running, 1, 1u << 16)},
        {"engine.max_prefill_chunk",
         engine_integer(&engine_config::max_prefill_chunk, 1, 1u << 20)},
        {"engine.max_queued_requests",
         engine_integer(&engine_config::max_queued_requests, 1, 1u << 24)},
        {"engine.policy",
         text([](server_config& c) -> std::string& { return c.engine.policy; }, {"lpm", "fcfs"})},
        {"cache.enabled",
         boolean([](server_config& c) -> bool& { return c.engine.cache_enabled; })},
        {"limits.max_prompt_tokens",
         engine_integer(&engine_config::max_prompt_tokens, 0, 1u << 24)},
        {"limits.max_tokens", integer(&server_config::max_tokens_limit, 1, 1u << 24)},
        {"limits.default_max_tokens", integer(&server_config::default_max_tokens, 1, 1u << 24)},
    };
    return f;
}

void apply(server_config& c, const json& j, const std::string& prefix) {
    if (!j.is_object()) {
        fail(prefix.empty() ? "(top level)" : prefix, "expected an object", j);
    }
    for (const auto& [k, v] : j.items()) {
        const std::string path = prefix.empty() ? k : prefix + "." + k;
        if (v.is_object()) {
            apply(c, v, path);
            continue;
        }
        auto it = fields().find(path);
        if (it == fields().end()) {
            throw config_error("config: unknown key '" + path + "'");
        }
        it->second.read(c, v, path);
    }
}

} // namespace

std::string to_json(const server_config& c) {
    json j = json::object();
    for (const auto& [path, f] : fields()) {
        std::string pointer = "/" + path; // "server.cors.x" -> /server/cors/x
        std::replace(pointer.begin(), pointer.end(), '.', '/');
        j[json::json_pointer(pointer)] = f.write(c);
    }
    return j.dump(2);
}

void apply_json(server_config& c, const std::string& json_text, const std::string& source) {
    json j;
    try {
        j = json::parse(json_text);
    } catch (const json::parse_error& e) {
        throw config_error("config: " + source + " is not valid JSON: " + e.what());
    }
    apply(c, j, "");
}

void add_cors_origin(server_config& c, const std::string& origin) {
    if (const auto why = check_origin_entry(origin); !why.empty()) {
        throw config_error("--cors-origin: " + why + ", got '" + origin + "'");
    }
    c.cors_allowed_origins.push_back(origin);
}

void apply_setting(server_config& c, const std::string& assignment) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos) {
        throw config_error("config: expected path=value, got '" + assignment + "'");
    }
    const std::string path = assignment.substr(0, eq), value = assignment.substr(eq + 1);
    auto it = fields().find(path);
    if (it == fields().end()) {
        throw config_error("config: unknown key '" + path + "'");
    }
    json v = json::parse(value, nullptr, false);
    if (v.is_discarded()) {
        v = value; // a bare string
    }
    it->second.read(c, v, path);
}

} // namespace radixrt::http
