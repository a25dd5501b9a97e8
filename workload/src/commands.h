#pragma once

// Runs a parsed afp_workload command. Returns the exit status: 0 done, 1 failed (the
// reason on `err`), 2 a bad value found only now (a report URL that does not resolve).

#include <ostream>

#include "cli.h"

namespace afp::workload {

int run_command(const Command& command, std::ostream& out, std::ostream& err);

// `serve` (serve.cpp): until SIGINT or SIGTERM.
int run_serve(const ServeCommand& command, std::ostream& err);

}  // namespace afp::workload
