#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collectors/scraper.h"
#include "config/options.h"
#include "http/server.h"
#include "log/logger.h"

namespace afp::app {

// Builds the scraper for a set of options; throws config::ConfigError when an input
// the enabled collectors need (e.g. --path.procfs) is unusable.
// PostgreSQL collectors are built only when a DSN is configured (AFP_PG_DSN,
// AFP_PG_DSN_FILE or pg.dsn-file).
std::shared_ptr<const collectors::Scraper> build_scraper(const config::Options& options,
                                                         collectors::CollectorHealth& health,
                                                         log::Logger& log);

// The serving process: HTTP routes over the current scraper, swapped on reload.
class ExporterApp {
 public:
  // Builds the collectors and loads --web.config.file; throws config::ConfigError or
  // http::ServerError (naming the flag, file or key) when either is unusable.
  ExporterApp(config::Options options, std::vector<std::string> args, log::Logger& log);

  // Binds the listen addresses; throws http::ServerError / config::ConfigError.
  void start();
  // Re-reads the config file, the flags and the web config file; keeps the old
  // configuration when any of them is bad.
  void reload();
  void stop();
  std::vector<int> ports() const { return server_.ports(); }

 private:
  void serve_metrics(const http::Request& request, http::Response& response);
  void serve_landing(http::Response& response) const;

  config::Options options_;
  std::vector<std::string> args_;
  log::Logger& log_;
  collectors::CollectorHealth health_;
  mutable std::mutex scraper_mutex_;
  std::shared_ptr<const collectors::Scraper> scraper_;
  std::atomic<int> in_flight_{0};
  std::atomic<std::size_t> size_hint_{64 * 1024};
  http::Server server_;
};

// Runs the server until SIGTERM/SIGINT (exit 0); SIGHUP reloads. Returns the exit code.
int run_server(const config::Options& options, const std::vector<std::string>& args,
               log::Logger& log);

}  // namespace afp::app
