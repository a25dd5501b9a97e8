#include "app/exporter_app.h"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstring>
#include <future>
#include <thread>

#include "app/catalog.h"
#include "app/scrape_timeout.h"
#include "build_info.h"
#include "collectors/proc_file.h"
#include "core/secret.h"
#include "http/web_config.h"
#include "pg/dsn.h"
#include "pg/source.h"

namespace afp::app {

namespace {

constexpr auto kShutdownGrace = std::chrono::milliseconds(4500);  // SIGTERM → exit within 5 s

// Handler threads: the scrapes the limit admits, so the one past it gets its 503 at once,
// and a few for the ingest route. Idle and slow connections take no thread (http/listener.h)
// and the health routes answer on the I/O thread.
int worker_threads(int max_requests) {
  return (max_requests > 0 ? max_requests : 40) + 8;
}

// The catalog's collectors the options enable, in scrape order.
std::vector<const collectors::CollectorSpec*> enabled_collectors(const config::Options& options) {
  std::vector<const collectors::CollectorSpec*> out;
  for (const auto& spec : collectors::builtin_collectors()) {
    if (options.collector_enabled(spec.name, spec.enabled_by_default)) out.push_back(&spec);
  }
  return out;
}

void check_paths(const config::Options& options) {
  auto enabled = enabled_collectors(options);
  if (enabled.empty()) return;
  std::string stat = collectors::join_path(options.collectors.procfs, "stat");
  if (access(stat.c_str(), R_OK) != 0) {
    throw config::ConfigError("--path.procfs \"" + options.collectors.procfs + "\": cannot read " +
                              stat + ": " + std::strerror(errno));
  }
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : ",") + item;
  return out;
}

// The --web.config.file, checked; null when there is none. Throws http::ServerError.
std::shared_ptr<const http::WebConfig> load_web_config(const std::string& path) {
  return path.empty() ? nullptr : http::WebConfig::load(path);
}

http::ServerOptions server_options(const config::Options& options) {
  http::ServerOptions server;
  server.listen_addresses = options.listen_addresses;
  server.worker_threads = worker_threads(options.max_requests);
  server.web_config = load_web_config(options.web_config_file);
  server.listen_flag = "--web.listen-address";
  return server;
}

bool pipeline_settings_differ(const config::Options& a, const config::Options& b) {
  const auto& x = a.ingest;
  const auto& y = b.ingest;
  const auto& p = a.probe;
  const auto& q = b.probe;
  return x.token_file != y.token_file || x.allow_unauthenticated != y.allow_unauthenticated ||
         x.max_body_bytes != y.max_body_bytes || x.max_batch_items != y.max_batch_items ||
         x.max_label_values != y.max_label_values || x.max_series != y.max_series ||
         x.max_label_value_length != y.max_label_value_length ||
         x.statsd_listen_address != y.statsd_listen_address ||
         x.statsd_read_buffer_bytes != y.statsd_read_buffer_bytes || p.url != q.url ||
         p.audio_file != q.audio_file || p.interval != q.interval || p.timeout != q.timeout ||
         p.form_field != q.form_field || p.content_type != q.content_type;
}

}  // namespace

std::shared_ptr<pg::Source> postgres_source(const config::Options& options, log::Logger& log) {
  std::optional<pg::Dsn> dsn;
  try {
    dsn = pg::load_dsn_from_environment(std::getenv, options.postgres.dsn_file);
  } catch (const pg::DsnError& e) {
    throw config::ConfigError(e.what());
  }
  if (!dsn) return nullptr;
  pg::SourceOptions source_options;
  source_options.connection.connect_timeout = options.postgres.connect_timeout;
  source_options.connection.statement_timeout = options.postgres.statement_timeout;
  source_options.cache_ttl = options.postgres.cache_ttl;
  source_options.prefetch = options.postgres.prefetch;
  log.info("PostgreSQL collectors on",
           {{"dsn_from", dsn->source}, {"target", pg::describe(dsn->conninfo)}});
  return std::make_shared<pg::Source>(std::move(*dsn), source_options, log);
}

namespace {

pipeline::IngestSettings ingest_settings(const config::Options& options) {
  const auto& in = options.ingest;
  pipeline::IngestSettings settings;
  std::optional<core::Secret> token;
  try {
    token = core::load_secret({"AFP_INGEST_TOKEN", std::getenv("AFP_INGEST_TOKEN"),
                               std::getenv("AFP_INGEST_TOKEN_FILE"), "ingest.token-file",
                               in.token_file});
  } catch (const core::SecretError& e) {
    throw config::ConfigError(e.what());
  }
  if (token) settings.token = std::move(token->value);
  settings.allow_unauthenticated = in.allow_unauthenticated;
  settings.max_body_bytes = static_cast<std::size_t>(in.max_body_bytes);
  settings.batch.max_items = static_cast<std::size_t>(in.max_batch_items);
  settings.batch.max_label_value_length = static_cast<std::size_t>(in.max_label_value_length);
  return settings;
}

std::shared_ptr<pipeline::Probe> make_probe(const config::ProbeSettings& p, log::Logger& log) {
  if (p.url.empty()) return nullptr;
  if (p.audio_file.empty()) throw config::ConfigError("--probe.url needs --probe.audio-file");
  try {
    return std::make_shared<pipeline::Probe>(
        pipeline::ProbeOptions{p.url, p.audio_file, p.interval, p.timeout, p.form_field,
                               p.content_type},
        log);
  } catch (const std::exception& e) {
    throw config::ConfigError(std::string("--probe: ") + e.what());
  }
}

}  // namespace

Pipeline build_pipeline(const config::Options& options, log::Logger& log) {
  Pipeline p;
  p.store = std::make_shared<pipeline::Store>(
      pipeline::Limits{static_cast<std::size_t>(options.ingest.max_label_values),
                       static_cast<std::size_t>(options.ingest.max_label_value_length),
                       static_cast<std::size_t>(options.ingest.max_series)});
  p.ingest = std::make_unique<pipeline::IngestHandler>(*p.store, ingest_settings(options));
  if (!options.ingest.statsd_listen_address.empty()) {
    p.statsd = std::make_unique<pipeline::StatsdListener>(
        options.ingest.statsd_listen_address, *p.store, log,
        static_cast<std::size_t>(options.ingest.statsd_read_buffer_bytes));
  }
  p.probe = make_probe(options.probe, log);
  p.statfs_pool = std::make_shared<collectors::StatfsPool>();
  return p;
}

std::shared_ptr<const collectors::Scraper> build_scraper(const config::Options& options,
                                                         collectors::CollectorHealth& health,
                                                         log::Logger& log,
                                                         const Pipeline* pipeline) {
  check_paths(options);
  auto postgres = postgres_source(options, log);
  collectors::CollectorDeps deps{options.collectors, postgres};
  deps.pg_settings = options.pg_collectors;
  if (pipeline) {
    deps.pipeline = pipeline->store;
    deps.probe = pipeline->probe;
    deps.statfs_pool = pipeline->statfs_pool;
  }
  std::vector<collectors::NamedCollector> list;
  for (const auto* spec : enabled_collectors(options)) {
    if (!collectors::available(*spec, deps)) continue;
    list.push_back({std::string(spec->name), spec->make(deps)});
  }
  return std::make_shared<const collectors::Scraper>(std::move(list), health);
}

ExporterApp::ExporterApp(config::Options options, std::vector<std::string> args, log::Logger& log)
    : options_(std::move(options)),
      args_(std::move(args)),
      log_(log),
      health_(log),
      pipeline_(build_pipeline(options_, log)),
      scraper_(build_scraper(options_, health_, log, &pipeline_)),
      server_(server_options(options_), log) {
  server_.route("/", {"GET"},
                [this](const http::Request&, http::Response& r) { serve_landing(r); });
  server_.route(options_.telemetry_path, {"GET"},
                [this](const http::Request& req, http::Response& r) { serve_metrics(req, r); });
  for (const char* path : {"/-/healthy", "/-/ready"}) {
    server_.route(path, {"GET"}, [](const http::Request&, http::Response& r) { r.body = "OK\n"; },
                  {.run_inline = true});
  }
  server_.route(
      "/api/v1/observations", {"POST"},
      [this](const http::Request& req, http::Response& r) { pipeline_.ingest->handle(req, r); },
      {.own_authentication = true});
}

void ExporterApp::start() {
  server_.start();
  if (pipeline_.statsd) pipeline_.statsd->start();
  if (pipeline_.probe) pipeline_.probe->start();
  log_.info("starting afp_exporter", {{"version", kVersion}, {"revision", kRevision}});
  log_.info("enabled collectors", {{"collectors", join(scraper_->names())}});
  auto web = server_.web_config();
  bool tls = web && web->tls_enabled();
  if (web) {
    log_.info("web config loaded", {{"file", web->path()},
                                    {"tls", tls ? "true" : "false"},
                                    {"basic_auth_users", std::to_string(web->user_count())}});
  }
  log_.info("ingest on /api/v1/observations",
            {{"auth", std::string(pipeline::ingest_mode_name(pipeline_.ingest->mode()))}});
  if (pipeline_.statsd) {
    log_.info("statsd listener on", {{"address", options_.ingest.statsd_listen_address},
                                     {"port", std::to_string(pipeline_.statsd->port())}});
  }
  auto ports = server_.ports();
  for (std::size_t i = 0; i < options_.listen_addresses.size() && i < ports.size(); ++i) {
    log_.info("listening", {{"address", options_.listen_addresses[i]},
                            {"port", std::to_string(ports[i])},
                            {"path", options_.telemetry_path},
                            {"tls", tls ? "true" : "false"}});
  }
}

void ExporterApp::stop() {
  if (pipeline_.probe) pipeline_.probe->stop();
  if (pipeline_.statsd) pipeline_.statsd->stop();
  server_.stop();
}

void ExporterApp::reload() {
  config::Options next;
  std::shared_ptr<const collectors::Scraper> scraper;
  std::shared_ptr<const http::WebConfig> web;
  try {
    next = config::reload(args_, collectors::collector_flags());
    scraper = build_scraper(next, health_, log_, &pipeline_);
    web = load_web_config(next.web_config_file);  // re-read even if unchanged: new certificates
  } catch (const std::exception& e) {
    log_.error("reload failed, keeping the running configuration", {{"err", e.what()}});
    return;
  }
  if (next.listen_addresses != options_.listen_addresses ||
      next.telemetry_path != options_.telemetry_path ||
      next.max_requests != options_.max_requests) {
    log_.warn(
        "web.listen-address, web.telemetry-path and web.max-requests change only on restart; "
        "the rest of the new configuration is live");
  }
  if (pipeline_settings_differ(next, options_)) {
    log_.warn(
        "ingest.*, statsd.* and probe.* change only on restart (the pushed counts are "
        "kept); the rest of the new configuration is live");
  }
  if (!server_.set_web_config(web)) {
    log_.warn(
        "turning TLS on or off (tls_server_config in --web.config.file) takes a restart; the "
        "listeners keep their protocol, the new users and headers are live",
        {{"web_config_file", next.web_config_file}});
  }
  log_.set_level(next.log_level);
  log_.set_format(next.log_format);
  {
    std::lock_guard lock(scraper_mutex_);
    scraper_ = scraper;
  }
  log_.info("configuration reloaded", {{"collectors", join(scraper->names())}});
}

void ExporterApp::serve_metrics(const http::Request& request, http::Response& response) {
  // A scrape is in flight until its last byte is sent, which is after this returns.
  struct InFlight {
    std::atomic<int>& n;
    explicit InFlight(std::atomic<int>& counter) : n(counter) { ++n; }
    ~InFlight() { --n; }
  };
  auto guard = std::make_shared<InFlight>(in_flight_);
  if (options_.max_requests > 0 && in_flight_.load() > options_.max_requests) {
    response.status = 503;
    response.body = "too many concurrent scrapes (--web.max-requests)\n";
    return;
  }
  std::shared_ptr<const collectors::Scraper> scraper;
  {
    std::lock_guard lock(scraper_mutex_);
    scraper = scraper_;
  }
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  // Sent collector by collector as the scrape goes: the exposition is never held whole.
  response.stream = [scraper, guard, deadline = scrape_deadline(request)](http::BodySink& sink) {
    std::string text;
    metrics::TextWriter writer(text);
    scraper->scrape(writer, deadline, [&sink](std::string_view done) { sink.write(done); });
  };
}

std::chrono::steady_clock::time_point ExporterApp::scrape_deadline(const http::Request& request) {
  auto header = request.header("X-Prometheus-Scrape-Timeout-Seconds");
  if (header.empty()) return std::chrono::steady_clock::time_point::max();
  auto seconds = parse_scrape_timeout(header);
  if (!seconds) {
    // Once per process: a client sending junk in a loop must not flood the log either.
    if (!malformed_timeout_logged_.exchange(true)) {
      log_.warn(
          "ignoring an X-Prometheus-Scrape-Timeout-Seconds header that is not a plain "
          "positive number of seconds (logged once)",
          {{"remote_addr", std::string(request.remote_addr)}});
    }
    return std::chrono::steady_clock::time_point::max();
  }
  return std::chrono::steady_clock::now() + scrape_budget(*seconds);
}

void ExporterApp::serve_landing(http::Response& response) const {
  response.content_type = "text/html; charset=utf-8";
  response.body = std::string("<!DOCTYPE html>\n<html><head><title>afp_exporter</title>") +
                  "<meta name=\"viewport\" content=\"width=device-width\"></head><body>\n"
                  "<h1>afp_exporter</h1>\n<p>Prometheus exporter for audio-fingerprinting "
                  "services. Version " +
                  kVersion + " (revision " + (*kRevision ? kRevision : "unknown") +
                  ").</p>\n<ul>\n<li><a href=\"" + options_.telemetry_path +
                  "\">Metrics</a></li>\n<li><a href=\"/-/healthy\">Health</a></li>\n"
                  "<li><a href=\"/-/ready\">Readiness</a></li>\n</ul>\n"
                  "<p>The app pushes pipeline timings to <code>POST /api/v1/observations</code>"
                  " (JSON, see the README).</p>\n</body></html>\n";
}

int run_server(const config::Options& options, const std::vector<std::string>& args,
               log::Logger& log) {
  // Every HTTP worker would otherwise get a malloc arena of its own that keeps the
  // freed buffers of the largest scrape it served (a 1.6 MB pg_stat_statements exposition
  // per worker: 110 MB seen); two arenas, and large buffers straight from mmap so they go
  // back to the system when freed, keep the resident set near what one scrape needs.
  // An arena keeps up to 1 MB free at its top, though: the buffers of a scrape (its pieces
  // in flight, 64 kB each, and the text being rendered) are then reused by the next, where the
  // default 128 kB gave them back and faulted them in again: 35 page faults a scrape.
  mallopt(M_ARENA_MAX, 2);
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
  // Block the signals before any thread starts so only the sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP})
    sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  ExporterApp app(options, args, log);
  app.start();
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      log.info("SIGHUP received, reloading configuration");
      app.reload();
      continue;
    }
    log.info("shutting down", {{"signal", strsignal(sig)}});
    auto stopped = std::async(std::launch::async, [&app] { app.stop(); });
    if (stopped.wait_for(kShutdownGrace) != std::future_status::ready) {
      log.warn("in-flight requests did not finish in time; exiting anyway");
      _exit(0);
    }
    return 0;
  }
}

}  // namespace afp::app
