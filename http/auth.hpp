#pragma once
// Who is asking: API keys, each belonging to a tenant (and some marked
// admin), from server.api_key and server.api_key_file. A tenant's requests
// use their own prefix-cache namespace, so no tenant can get a cache hit on
// another's prompt (nor can two cache salts of one tenant). With no key
// configured the server is open: everyone is an admin of tenant "default".
//
// Key file: one key per line, then optionally a tenant name and the word
// `admin`, separated by white space; `#` starts a comment.
//     sk-7f3a...                  (tenant "default")
//     sk-91bc...   acme
//     sk-0d44...   ops    admin
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http/config.hpp"

namespace radixrt::http {

struct principal {
    std::string tenant = "default";
    bool admin = false;
};

class key_table {
  public:
    /// From server.api_key (tenant default, admin) and server.api_key_file.
    /// Throws config_error naming the file and line of a bad entry.
    static key_table from_config(const server_config& cfg);

    bool open() const { return keys_.empty(); }
    /// The principal for an Authorization header value ("Bearer KEY", the
    /// scheme in any case), or nullopt for a missing or unknown key.
    std::optional<principal> authenticate(std::string_view authorization) const;

  private:
    std::unordered_map<std::string, principal> keys_;
};

/// The cache namespace of a tenant's request: "tenant/" + salt.
std::string cache_namespace(const principal& who, std::string_view cache_salt);
/// What a principal may see of the cache: "" (everything) for admins, else
/// the prefix of its namespaces.
std::string cache_scope(const principal& who);

} // namespace radixrt::http
