#include "apps/args.hpp"

#include <charconv>
#include <cmath>

namespace radixrt::apps {

std::optional<std::string> args::value(const std::string& name) {
    auto all = values(name);
    if (all.empty()) {
        return std::nullopt;
    }
    return all.back(); // the last occurrence wins, as in most tools
}

std::vector<std::string> args::values(const std::string& name) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < argv_.size(); ++i) {
        if (!used_[i] && argv_[i] == "--" + name) {
            if (i + 1 >= argv_.size()) {
                throw usage_error("--" + name + " needs a value");
            }
            used_[i] = used_[i + 1] = true;
            out.push_back(argv_[i + 1]);
        }
    }
    return out;
}

bool args::flag(const std::string& name) {
    for (std::size_t i = 0; i < argv_.size(); ++i) {
        if (!used_[i] && argv_[i] == "--" + name) {
            used_[i] = true;
            return true;
        }
    }
    return false;
}

std::string args::str(const std::string& name, std::string fallback) {
    return value(name).value_or(std::move(fallback));
}

std::uint64_t args::uint(const std::string& name, std::uint64_t fallback, std::uint64_t max) {
    auto v = value(name);
    if (!v) {
        return fallback;
    }
    std::uint64_t out = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || p != v->data() + v->size() || out > max) {
        throw usage_error("--" + name + " expects a whole number up to " + std::to_string(max) +
                          ", got '" + *v + "'");
    }
    return out;
}

double args::number(const std::string& name, double fallback, double min, double max) {
    auto v = value(name);
    if (!v) {
        return fallback;
    }
    double out = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || p != v->data() + v->size() || !std::isfinite(out) || out < min ||
        out > max) {
        throw usage_error("--" + name + " expects a number in [" + std::to_string(min) + ", " +
                          std::to_string(max) + "], got '" + *v + "'");
    }
    return out;
}

std::vector<std::string> args::positional() {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < argv_.size(); ++i) {
        if (!used_[i] && argv_[i].rfind("--", 0) != 0) {
            used_[i] = true;
            out.push_back(argv_[i]);
        }
    }
    return out;
}

void args::finish() const {
    for (std::size_t i = 0; i < argv_.size(); ++i) {
        if (!used_[i]) {
            throw usage_error("unknown argument '" + argv_[i] + "'");
        }
    }
}

} // namespace radixrt::apps
