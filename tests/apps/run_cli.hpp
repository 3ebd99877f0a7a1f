#pragma once
// Runs the radixrt command line in-process (as main does) and keeps what it
// printed, for the CLI tests.
#include <sstream>
#include <string>
#include <vector>

#include "apps/commands.hpp"

namespace radixrt::test {

struct cli_result {
    int code;
    std::string out, err;
};

inline cli_result cli(std::vector<std::string> args) {
    args.insert(args.begin(), "radixrt");
    std::ostringstream out, err;
    const int code = apps::run_cli(args, out, err);
    return {code, out.str(), err.str()};
}

} // namespace radixrt::test
