#pragma once
// The radixrt subcommands. Each takes its arguments (after the subcommand
// name) and the streams to write to, and returns the process exit code.
#include <iosfwd>
#include <string>
#include <vector>

namespace radixrt::apps {

/// Dispatches argv[1] to a subcommand; prints usage on errors (exit 2).
int run_cli(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err);

int run_generate(std::vector<std::string> args, std::ostream& out, std::ostream& err);
int run_model(std::vector<std::string> args, std::ostream& out, std::ostream& err);
int run_serve(std::vector<std::string> args, std::ostream& out, std::ostream& err);
int run_bench(std::vector<std::string> args, std::ostream& out, std::ostream& err);
int run_client(std::vector<std::string> args, std::ostream& out, std::ostream& err);

} // namespace radixrt::apps
