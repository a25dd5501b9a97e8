#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collectors/scraper.h"
#include "collectors/statfs_pool.h"
#include "config/options.h"
#include "http/server.h"
#include "log/logger.h"
#include "pipeline/http_ingest.h"
#include "pipeline/probe.h"
#include "pipeline/statsd_listener.h"
#include "pipeline/store.h"

namespace afp::app {

// The parts built once at start and kept across reloads: what the app pushed must not be
// lost to a SIGHUP, and threads stuck on a dead mount must not be left behind by one.
struct Pipeline {
  std::shared_ptr<pipeline::Store> store;
  std::unique_ptr<pipeline::IngestHandler> ingest;
  std::unique_ptr<pipeline::StatsdListener> statsd;  // null without --statsd.listen-address
  std::shared_ptr<pipeline::Probe> probe;            // null without --probe.url
  std::shared_ptr<collectors::StatfsPool> statfs_pool;
};

// Loads the ingest token (AFP_INGEST_TOKEN, AFP_INGEST_TOKEN_FILE, ingest.token-file) and
// the probe's audio file; throws config::ConfigError naming what is wrong.
Pipeline build_pipeline(const config::Options& options, log::Logger& log);

// Builds the scraper for a set of options; throws config::ConfigError when an input
// the enabled collectors need (e.g. --path.procfs) is unusable.
// PostgreSQL collectors are built only when a DSN is configured (AFP_PG_DSN,
// AFP_PG_DSN_FILE, pg.dsn-file or postgres_exporter's DATA_SOURCE_*); the pipeline and probe
// collectors only with the pipeline parts they publish.
std::shared_ptr<const collectors::Scraper> build_scraper(const config::Options& options,
                                                         collectors::CollectorHealth& health,
                                                         log::Logger& log,
                                                         const Pipeline* pipeline = nullptr);

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
  // The statsd listener's UDP port; 0 when there is none.
  int statsd_port() const { return pipeline_.statsd ? pipeline_.statsd->port() : 0; }

 private:
  void serve_metrics(const http::Request& request, http::Response& response);
  void serve_landing(http::Response& response) const;
  // When this scrape must answer, from the scraper's timeout header; max() without one.
  std::chrono::steady_clock::time_point scrape_deadline(const http::Request& request);

  config::Options options_;
  std::vector<std::string> args_;
  log::Logger& log_;
  collectors::CollectorHealth health_;
  Pipeline pipeline_;
  mutable std::mutex scraper_mutex_;
  std::shared_ptr<const collectors::Scraper> scraper_;
  std::atomic<int> in_flight_{0};
  std::atomic<bool> malformed_timeout_logged_{false};
  http::Server server_;
};

// Runs the server until SIGTERM/SIGINT (exit 0); SIGHUP reloads. Returns the exit code.
int run_server(const config::Options& options, const std::vector<std::string>& args,
               log::Logger& log);

}  // namespace afp::app
