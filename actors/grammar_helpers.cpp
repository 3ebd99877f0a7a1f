// The public grammar helpers (include/radixrt/grammar.hpp) over the runtime's
// JSON Schema converter.
#include <stdexcept>
#include <utility>
#include <vector>

#include "radixrt/grammar.hpp"
#include "runtime/json_schema_detail.hpp"
#include "runtime/json_schema_grammar.hpp"

namespace radixrt {

expected<std::string> json_schema_rules(std::span<const named_schema> schemas) {
    // Each schema alone first, so that an error names the entry it is in.
    for (const auto& s : schemas) {
        try {
            (void)runtime::json_schema_to_gbnf(s.schema_json);
        } catch (const runtime::schema_error& e) {
            return error{errc::invalid_request,
                         "JSON Schema keyword '" + e.keyword() + "': " + e.detail(), s.rule};
        } catch (const std::exception& e) {
            return error{errc::invalid_request, std::string("JSON Schema: ") + e.what(), s.rule};
        }
    }
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const auto& s : schemas) {
        pairs.emplace_back(s.rule, s.schema_json);
    }
    return runtime::json_schema_rules(pairs);
}

std::string gbnf_literal(std::string_view bytes) {
    return runtime::gbnf_literal(bytes);
}

} // namespace radixrt
