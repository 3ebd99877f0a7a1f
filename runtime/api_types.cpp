// The public vocabulary types' functions (include/radixrt/request.hpp,
// introspection.hpp): every layer from runtime up uses those types.
#include <algorithm>
#include <system_error>

#include "radixrt/introspection.hpp"
#include "radixrt/request.hpp"

namespace radixrt {

namespace {

class category : public std::error_category {
  public:
    const char* name() const noexcept override { return "radixrt"; }
    std::string message(int c) const override {
        switch (errc(c)) {
        case errc::overloaded:
            return "the server is overloaded";
        case errc::invalid_request:
            return "invalid request";
        case errc::context_exceeded:
            return "the request does not fit the model's context";
        case errc::shutting_down:
            return "the server is shutting down";
        case errc::internal:
            return "internal error";
        }
        return "unknown error";
    }
};

} // namespace

const std::error_category& error_category() {
    static const category c;
    return c;
}

std::error_code make_error_code(errc e) {
    return {int(e), error_category()};
}

void throw_exception_from_error(const error& e, const boost::source_location&) {
    throw std::system_error(make_error_code(e.code), e.message);
}

const char* to_string(finish_reason r) {
    switch (r) {
    case finish_reason::stop:
        return "stop";
    case finish_reason::length:
        return "length";
    case finish_reason::cancelled:
        return "cancelled";
    case finish_reason::error:
        return "error";
    }
    return "?";
}

void histogram_snapshot::observe(double v) {
    counts.resize(bounds.size() + 1);
    const auto i = std::size_t(std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin());
    ++counts[i];
    sum += v;
    ++count;
}

} // namespace radixrt
