#include "jinja/template.hpp"

#include "jinja/interpreter.hpp"
#include "jinja/parser.hpp"

namespace radixrt::jinja {

namespace {
constexpr int max_nesting = 100; // blocks + expression levels, bounds recursion
} // namespace

template_ template_::parse(std::string_view text) {
    auto p = std::make_shared<detail::program>();
    p->root = detail::parse(detail::tokenize(text, {}), max_nesting);
    return template_(std::move(p));
}

std::string template_::render(const nlohmann::ordered_json& context,
                              const render_options& options) const {
    detail::interpreter in(options);
    auto globals = std::make_shared<detail::frame>();
    detail::install_globals(*globals, in);
    if (context.is_object()) {
        for (const auto& [k, v] : context.items()) {
            globals->set(k, from_json(v));
        }
    }
    return in.run(*program_, std::move(globals));
}

} // namespace radixrt::jinja
