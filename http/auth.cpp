#include "http/auth.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace radixrt::http {

namespace {

bool valid_tenant(const std::string& t) {
    return !t.empty() && t.size() <= 64 && std::all_of(t.begin(), t.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '_' || c == '.';
    });
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower((unsigned char)x) == std::tolower((unsigned char)y);
           });
}

} // namespace

key_table key_table::from_config(const server_config& cfg) {
    key_table t;
    if (!cfg.api_key.empty()) {
        t.keys_[cfg.api_key] = principal{"default", true};
    }
    if (cfg.api_key_file.empty()) {
        return t;
    }
    std::ifstream in(cfg.api_key_file);
    if (!in) {
        throw config_error("cannot read the API key file " + cfg.api_key_file);
    }
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        line = line.substr(0, line.find('#'));
        std::istringstream fields(line);
        std::string key, tenant, flag, extra;
        if (!(fields >> key)) {
            continue; // blank or comment
        }
        fields >> tenant >> flag >> extra;
        const std::string where = cfg.api_key_file + ":" + std::to_string(n) + ": ";
        if (tenant.empty()) {
            tenant = "default";
        }
        if (!valid_tenant(tenant)) {
            throw config_error(where + "a tenant name is 1 to 64 of A-Z a-z 0-9 - _ .");
        }
        if ((!flag.empty() && flag != "admin") || !extra.empty()) {
            throw config_error(where + "expected KEY [TENANT] [admin]");
        }
        if (!t.keys_.emplace(key, principal{tenant, flag == "admin"}).second) {
            throw config_error(where + "this key is listed twice");
        }
    }
    if (t.keys_.empty()) {
        throw config_error("the API key file " + cfg.api_key_file + " holds no key");
    }
    return t;
}

std::optional<principal> key_table::authenticate(std::string_view h) const {
    if (open()) {
        return principal{"default", true};
    }
    const auto space = h.find(' ');
    if (space == std::string_view::npos || !iequals(h.substr(0, space), "bearer")) {
        return std::nullopt;
    }
    auto key = h.substr(space + 1);
    while (!key.empty() && key.front() == ' ') {
        key.remove_prefix(1);
    }
    auto it = keys_.find(std::string(key));
    if (it == keys_.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::string cache_namespace(const principal& who, std::string_view cache_salt) {
    return who.tenant + "/" + std::string(cache_salt);
}

std::string cache_scope(const principal& who) {
    return who.admin ? std::string() : who.tenant + "/";
}

} // namespace radixrt::http
