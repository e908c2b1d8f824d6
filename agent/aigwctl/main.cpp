// aigwctl: the command-line client of aigwd. The logic lives in
// control/cli.cpp (run_cli) so that it can be tested without a daemon.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "control/cli.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    aigw::SocketTransport transport;
    return aigw::run_cli(args, std::cout, std::cerr, transport);
  } catch (const std::exception& e) {
    std::cerr << "aigwctl: " << e.what() << '\n';
    return aigw::kExitUsage;
  }
}
