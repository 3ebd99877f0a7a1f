#include <iostream>

#include "apps/commands.hpp"

int main(int argc, char** argv) {
    return radixrt::apps::run_cli(std::vector<std::string>(argv, argv + argc), std::cout,
                                  std::cerr);
}
