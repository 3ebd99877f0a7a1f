#pragma once
/// A Jinja interpreter for Hugging Face chat templates: the subset of
/// jinja2 real templates use, with jinja2's semantics (checked against
/// Python's jinja2 in tests/jinja), in a sandbox with limits: a template can
/// neither run forever nor exhaust memory.
///
///     auto t = radixrt::jinja::template_::parse(text);       // throws jinja::error
///     std::string s = t.render({{"messages", msgs}, {"add_generation_prompt", true}});
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "jinja/error.hpp"

namespace radixrt::jinja {

namespace detail {
struct program;
}

struct render_options {
    std::uint64_t max_steps = 10'000'000;     ///< expressions + statements evaluated
    std::size_t max_output_bytes = 16u << 20; ///< rendered text (and any intermediate string)
    int max_call_depth = 64;                  ///< nested macro calls
    /// strftime_now() uses this instead of the clock when set (for tests).
    std::optional<std::chrono::system_clock::time_point> now;
};

class template_ {
  public:
    /// Parses text with trim_blocks and lstrip_blocks on, as Hugging Face
    /// does. Throws jinja::error (syntax) with line and column.
    static template_ parse(std::string_view text);

    /// Renders with context's top-level keys as variables (messages, tools,
    /// add_generation_prompt, bos_token...). Throws jinja::error (runtime,
    /// raised by raise_exception, or limit) with line and column. A
    /// template may be rendered from several threads at once.
    std::string render(const nlohmann::ordered_json& context,
                       const render_options& options = {}) const;

  private:
    explicit template_(std::shared_ptr<const detail::program> p) : program_(std::move(p)) {}
    std::shared_ptr<const detail::program> program_;
};

} // namespace radixrt::jinja
