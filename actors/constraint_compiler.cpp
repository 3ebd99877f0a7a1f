#include "actors/constraint_compiler.hpp"

#include <stdexcept>

#include "runtime/grammar_processor.hpp"
#include "runtime/json_schema_grammar.hpp"
#include "runtime/regex_grammar.hpp"

namespace radixrt::actors {

namespace {

const char* default_param(constraint_kind k) {
    switch (k) {
    case constraint_kind::gbnf:
        return "grammar";
    case constraint_kind::json_schema:
        return "json_schema";
    case constraint_kind::regex:
        return "regex";
    default:
        return "response_format";
    }
}

const char* what_it_is(constraint_kind k) {
    switch (k) {
    case constraint_kind::gbnf:
        return "grammar";
    case constraint_kind::json_schema:
        return "JSON Schema";
    case constraint_kind::regex:
        return "regex";
    default:
        return "JSON object grammar";
    }
}

std::shared_ptr<const runtime::grammar> build(const output_constraint& c) {
    switch (c.kind) {
    case constraint_kind::gbnf:
        return runtime::grammar::parse(c.text);
    case constraint_kind::json_schema:
        return runtime::json_schema_grammar(c.text);
    case constraint_kind::regex:
        return runtime::regex_grammar(c.text);
    case constraint_kind::json_object:
        return runtime::json_object_grammar();
    default:
        throw std::invalid_argument("unknown constraint kind");
    }
}

} // namespace

constraint_compiler::constraint_compiler(const runtime::tokenizer& tok, std::size_t capacity,
                                         std::size_t max_cached_bytes)
    : tok_(tok), capacity_(capacity), max_cached_bytes_(max_cached_bytes) {}

std::shared_ptr<const runtime::token_trie> constraint_compiler::vocabulary() {
    std::call_once(trie_once_, [this] { trie_ = runtime::token_trie::from_tokenizer(tok_); });
    return trie_;
}

std::size_t constraint_compiler::cached() const {
    std::lock_guard lock(mutex_);
    return lru_.size();
}

expected<std::shared_ptr<const runtime::grammar>>
constraint_compiler::compile(const output_constraint& c) {
    const bool cacheable = c.text.size() <= max_cached_bytes_ && capacity_ > 0;
    std::string key;
    if (cacheable) {
        key.push_back(char('0' + int(c.kind)));
        if (c.kind != constraint_kind::json_object) {
            key += c.text;
        }
        std::lock_guard lock(mutex_);
        if (auto it = index_.find(key); it != index_.end()) {
            lru_.splice(lru_.begin(), lru_, it->second);
            return it->second->second;
        }
    }
    const std::string param = c.param.empty() ? default_param(c.kind) : c.param;
    std::shared_ptr<const runtime::grammar> g;
    try {
        g = build(c); // outside the lock: a big schema may take a while
    } catch (const runtime::schema_error& e) {
        const std::string where = c.kind == constraint_kind::json_schema
                                      ? "JSON Schema keyword '" + e.keyword() + "'"
                                      : std::string(what_it_is(c.kind));
        return error{errc::invalid_request, where + ": " + e.detail(), param};
    } catch (const std::exception& e) {
        return error{errc::invalid_request, std::string(what_it_is(c.kind)) + ": " + e.what(),
                     param};
    }
    if (cacheable) {
        std::lock_guard lock(mutex_);
        if (!index_.contains(key)) { // another thread may have compiled it meanwhile
            lru_.emplace_front(key, g);
            index_[key] = lru_.begin();
            if (lru_.size() > capacity_) {
                index_.erase(lru_.back().first);
                lru_.pop_back();
            }
        }
    }
    return g;
}

expected<std::shared_ptr<logit_processor>>
constraint_compiler::processor(const output_constraint& c, std::vector<runtime::token_id> shown) {
    if (c.kind == constraint_kind::none) {
        return std::shared_ptr<logit_processor>();
    }
    auto g = compile(c);
    if (!g) {
        return g.error();
    }
    try { // the first call builds the trie: out of memory is the engine's error
        std::vector<runtime::shown_token> texts;
        for (const auto id : shown) {
            texts.push_back({id, tok_.text(id)});
        }
        std::vector<runtime::grammar_trigger> triggers;
        for (const auto& t : c.triggers) {
            triggers.push_back({t.text, t.at_start});
        }
        return std::shared_ptr<logit_processor>(std::make_shared<runtime::grammar_processor>(
            std::move(*g), vocabulary(), std::move(texts), std::move(triggers)));
    } catch (const std::exception& e) {
        return error{errc::internal, std::string("constrained decoding: ") + e.what()};
    }
}

} // namespace radixrt::actors
