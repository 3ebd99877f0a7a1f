#pragma once
// Runs tests/jinja/jinja_oracle.py (Python's jinja2, configured as Hugging
// Face does) on a request and returns its JSON answer. Any failure to run
// it (no python3, no jinja2) is an ADD_FAILURE with the reason, never a skip.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace radixrt::jinja::test {

inline nlohmann::ordered_json run_oracle(const nlohmann::ordered_json& request) {
    char in_path[] = "/tmp/radixrt_jinja_in_XXXXXX";
    char out_path[] = "/tmp/radixrt_jinja_out_XXXXXX";
    const int in_fd = mkstemp(in_path);
    const int out_fd = mkstemp(out_path);
    if (in_fd < 0 || out_fd < 0) {
        ADD_FAILURE() << "cannot create temporary files for the jinja2 oracle";
        return nullptr;
    }
    close(in_fd);
    close(out_fd);
    std::ofstream(in_path) << request.dump();
    const std::string cmd = std::string("python3 ") + RADIXRT_SOURCE_DIR +
                            "/tests/jinja/jinja_oracle.py < " + in_path + " > " + out_path +
                            " 2> " + out_path + ".err";
    const int rc = std::system(cmd.c_str());
    std::stringstream out, err;
    out << std::ifstream(out_path).rdbuf();
    err << std::ifstream(std::string(out_path) + ".err").rdbuf();
    std::remove(in_path);
    std::remove(out_path);
    std::remove((std::string(out_path) + ".err").c_str());
    if (rc != 0) {
        ADD_FAILURE() << "the jinja2 oracle failed (exit status " << rc
                      << "); it needs python3 with jinja2 (Debian: python3-jinja2): " << err.str();
        return nullptr;
    }
    try {
        return nlohmann::ordered_json::parse(out.str());
    } catch (const std::exception& e) {
        ADD_FAILURE() << "the jinja2 oracle printed bad JSON: " << e.what() << ": " << out.str();
        return nullptr;
    }
}

} // namespace radixrt::jinja::test
