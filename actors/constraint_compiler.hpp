#pragma once
// Turns a request's output_constraint into the grammar_processor that
// enforces it. Runs on the submitting caller's thread (engine::submit), so
// a bad grammar, schema or regex is refused before anything is queued.
// Compiled grammars are immutable and shared: a small LRU keyed by (kind,
// text) saves recompiling the schema a client sends with every request.
// The vocabulary trie is built on first use, once per loaded model.
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "radixrt/request.hpp"
#include "runtime/grammar.hpp"
#include "runtime/grammar_mask.hpp"
#include "runtime/tokenizer.hpp"

namespace radixrt::actors {

class constraint_compiler {
  public:
    /// tok must outlive the compiler. Texts longer than max_cached_bytes
    /// are compiled every time (they would crowd the cache out).
    explicit constraint_compiler(const runtime::tokenizer& tok, std::size_t capacity = 32,
                                 std::size_t max_cached_bytes = 64 << 10);

    /// A fresh processor for one sequence (null for constraint_kind::none),
    /// or an invalid_request error naming the field and the keyword.
    /// Thread-safe.
    /// shown: the request's preserved control tokens, matched as their text.
    expected<std::shared_ptr<logit_processor>>
    processor(const output_constraint& c, std::vector<runtime::token_id> shown = {});

    /// The compiled grammar (cached), or the error. Thread-safe.
    expected<std::shared_ptr<const runtime::grammar>> compile(const output_constraint& c);

    /// The vocabulary trie, built on the first call. Thread-safe.
    std::shared_ptr<const runtime::token_trie> vocabulary();

    std::size_t cached() const;

  private:
    using entry = std::pair<std::string, std::shared_ptr<const runtime::grammar>>;

    const runtime::tokenizer& tok_;
    const std::size_t capacity_;
    const std::size_t max_cached_bytes_;
    std::once_flag trie_once_;
    std::shared_ptr<const runtime::token_trie> trie_;
    mutable std::mutex mutex_; // guards lru_ and index_
    std::list<entry> lru_;     // most recently used first
    std::unordered_map<std::string, std::list<entry>::iterator> index_;
};

} // namespace radixrt::actors
