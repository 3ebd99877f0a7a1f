#include <ostream>

#include "apps/args.hpp"
#include "apps/commands.hpp"
#include "apps/usage.hpp"
#include "runtime/gguf.hpp"

namespace radixrt::apps {

int run_cli(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
    if (argv.size() < 2 || argv[1] == "--help" || argv[1] == "-h" || argv[1] == "help") {
        (argv.size() < 2 ? err : out) << usage_of("");
        return argv.size() < 2 ? 2 : 0;
    }
    if (argv[1] == "--version" || argv[1] == "version") {
        out << version_text();
        return 0;
    }
    const std::string cmd = argv[1];
    std::vector<std::string> rest(argv.begin() + 2, argv.end());
    for (const auto& a : rest) {
        if ((a == "--help" || a == "-h") && known_command(cmd)) {
            out << usage_of(cmd);
            return 0;
        }
    }
    try {
        if (cmd == "generate") {
            return run_generate(std::move(rest), out, err);
        }
        if (cmd == "model") {
            return run_model(std::move(rest), out, err);
        }
        if (cmd == "serve") {
            return run_serve(std::move(rest), out, err);
        }
        if (cmd == "bench") {
            return run_bench(std::move(rest), out, err);
        }
        if (cmd == "client") {
            return run_client(std::move(rest), out, err);
        }
        throw usage_error("unknown command '" + cmd + "'");
    } catch (const usage_error& e) {
        err << "radixrt: " << e.what() << "\n\n" << usage_of(cmd);
        return 2;
    } catch (const runtime::gguf_error& e) {
        err << "radixrt: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        err << "radixrt: " << e.what() << "\n";
        return 1;
    }
}

} // namespace radixrt::apps
