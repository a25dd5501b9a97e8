// afp_workload entry point: parses the command line and runs the subcommand.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    auto command = afp::workload::parse_command_line(
        args, [](const char* name) -> const char* { return std::getenv(name); });
    return afp::workload::run_command(command, std::cout, std::cerr);
  } catch (const afp::workload::UsageError& e) {
    std::cerr << "afp_workload: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {  // a command lets nothing escape; this is the backstop
    std::cerr << "afp_workload: " << e.what() << "\n";
    return 1;
  }
}
