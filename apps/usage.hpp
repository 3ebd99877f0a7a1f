#pragma once
// The usage text of each subcommand, and the version line.
#include <string>
#include <string_view>

namespace radixrt::apps {

/// Usage of one subcommand ("serve", "model", ...); the whole help for "".
/// An unknown name gives the list of subcommands.
std::string usage_of(std::string_view command);

/// Whether command names a subcommand.
bool known_command(std::string_view command);

/// `radixrt --version`: version, git commit, compiler, kernel ISA levels.
std::string version_text();

} // namespace radixrt::apps
