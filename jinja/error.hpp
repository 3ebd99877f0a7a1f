#pragma once
// The one exception the interpreter throws: a syntax or runtime error in a
// template, with where it happened.
#include <stdexcept>
#include <string>

namespace radixrt::jinja {

enum class error_kind {
    syntax,  ///< the template does not parse
    runtime, ///< a type error, an undefined value used, an unknown filter...
    raised,  ///< the template called raise_exception(message)
    limit,   ///< the step budget, output size or nesting depth was exceeded
};

class error : public std::runtime_error {
  public:
    error(error_kind kind, std::string message, int line = 0, int column = 0)
        : std::runtime_error(format(message, line, column)), kind_(kind),
          message_(std::move(message)), line_(line), column_(column) {}

    error_kind kind() const { return kind_; }
    /// The message without the location (for raise_exception: its argument).
    const std::string& message() const { return message_; }
    int line() const { return line_; }     ///< 1-based; 0: unknown
    int column() const { return column_; } ///< 1-based; 0: unknown
    /// The same error placed at line:column (if it had no place yet).
    error located(int line, int column) const {
        return line_ != 0 ? *this : error(kind_, message_, line, column);
    }

  private:
    static std::string format(const std::string& m, int line, int column) {
        return line == 0 ? m
                         : m + " (line " + std::to_string(line) + ", column " +
                               std::to_string(column) + ")";
    }
    error_kind kind_;
    std::string message_;
    int line_, column_;
};

} // namespace radixrt::jinja
