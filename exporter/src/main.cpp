// afp_exporter entry point: picks the subcommand and wires options into the app.
#include <sys/prctl.h>

#include <iostream>
#include <string>
#include <vector>

#include "app/catalog.h"
#include "app/exporter_app.h"
#include "build_info.h"
#include "cli/db.h"
#include "cli/profile.h"
#include "cli/status.h"
#include "cli/web.h"
#include "config/options.h"
#include "log/logger.h"

int main(int argc, char** argv) {
  // A core dump would hold the DSN, the ingest token and the basic-auth cache in clear.
  prctl(PR_SET_DUMPABLE, 0);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "status") {
    return afp::cli::run_status({args.begin() + 1, args.end()}, std::cout, std::cerr);
  }
  if (!args.empty() && args[0] == "profile") {
    return afp::cli::run_profile({args.begin() + 1, args.end()}, std::cout, std::cerr);
  }
  if (!args.empty() && args[0] == "db") {  // db report | db optimize
    return afp::cli::run_db({args.begin() + 1, args.end()}, std::cout, std::cerr);
  }
  if (!args.empty() && args[0] == "web") {  // web hash-password
    return afp::cli::run_web({args.begin() + 1, args.end()}, std::cin, std::cout, std::cerr);
  }
  try {
    auto cl = afp::config::parse_command_line(args, afp::collectors::collector_flags());
    if (cl.help) {
      std::cout << afp::config::usage(afp::collectors::collector_flags());
      return 0;
    }
    if (cl.version) {
      std::cout << "afp_exporter, version " << afp::kVersion << " (revision "
                << (*afp::kRevision ? afp::kRevision : "unknown") << ")\n";
      return 0;
    }
    afp::log::Logger log(cl.options.log_level, cl.options.log_format);
    return afp::app::run_server(cl.options, args, log);
  } catch (const std::exception& e) {  // config, listen and startup errors: one line, exit 2
    std::cerr << "afp_exporter: " << e.what() << "\n";
  }
  return 2;
}
