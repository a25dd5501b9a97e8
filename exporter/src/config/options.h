#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/settings.h"
#include "log/logger.h"
#include "pg/settings.h"

namespace afp::config {

// The PostgreSQL connection. The DSN itself comes from AFP_PG_DSN, AFP_PG_DSN_FILE or the
// file named here, else from postgres_exporter's DATA_SOURCE_* variables (pg/dsn.h): never
// from the command line, where `ps` would show the password.
struct PostgresOptions {
  std::string dsn_file;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds statement_timeout{2000};
  std::chrono::milliseconds cache_ttl{0};
  bool prefetch = false;  // start the collection as a scrape begins (pg::SourceOptions)
};

// Pushed pipeline observations: the HTTP route and the statsd listener. The bearer token
// comes from AFP_INGEST_TOKEN, AFP_INGEST_TOKEN_FILE or the file named here.
struct IngestOptions {
  std::string token_file;
  bool allow_unauthenticated = false;  // without a token: also accept non-loopback peers
  long long max_body_bytes = 1 << 20;
  long long max_batch_items = 10000;
  long long max_label_values = 100;  // distinct values per label
  long long max_series = 2000;       // series per pushed family
  long long max_label_value_length = 128;
  std::string statsd_listen_address;  // "": no statsd listener
  long long statsd_read_buffer_bytes = 8 << 20;
};

// The active probe of the app's identify endpoint; off while url is empty.
struct ProbeSettings {
  std::string url;
  std::string audio_file;
  std::chrono::milliseconds interval{30000};
  std::chrono::milliseconds timeout{15000};
  std::string form_field = "file";  // "": the audio is the raw request body
  std::string content_type = "audio/wav";
};

// A collector as its --collector.NAME flag sees it. The caller hands in the list (the catalog,
// app/catalog.h), so config knows no collector.
struct CollectorFlag {
  std::string_view name;
  std::string_view help;
  bool enabled_by_default;
  std::vector<std::string_view> aliases;  // postgres_exporter's names for it
};
using CollectorList = std::span<const CollectorFlag>;

// Everything `afp_exporter` (the server) is configured with.
struct Options {
  std::vector<std::string> listen_addresses{":9793"};
  std::string telemetry_path = "/metrics";
  int max_requests = 40;
  std::string web_config_file;  // exporter-toolkit format: TLS, basic auth; "" for neither
  std::string config_file;
  bool disable_defaults = false;
  std::map<std::string, bool, std::less<>> collector_flags;  // explicit choices only
  collectors::CollectorSettings collectors;
  pg::CollectorSettings pg_collectors;
  PostgresOptions postgres;
  IngestOptions ingest;
  ProbeSettings probe;
  log::Level log_level = log::Level::info;
  log::Format log_format = log::Format::logfmt;

  // The collectors parse_command_line was given; empty in Options built by hand.
  CollectorList known_collectors;

  // The explicit flag, else the default unless --collector.disable-defaults.
  bool collector_enabled(std::string_view name, bool enabled_by_default) const;
  // The same with the default from known_collectors: false for a collector it does not know.
  bool collector_enabled(std::string_view name) const;
  // known_collectors' enabled ones, in their order.
  std::vector<std::string> enabled_collectors() const;
};

// A bad flag, config key or value. The message names the flag or key.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CommandLine {
  Options options;
  bool help = false;
  bool version = false;
};

// Reads the config file named by --config.file (if any), then applies the flags on top.
// Throws ConfigError for an unknown flag or key, a wrong type or a bad value.
// `collectors` is every collector a --collector.NAME flag may name.
CommandLine parse_command_line(const std::vector<std::string>& args, CollectorList collectors);

// Re-reads options.config_file and re-applies the original flags (SIGHUP).
Options reload(const std::vector<std::string>& args, CollectorList collectors);

// The --help text.
std::string usage(CollectorList collectors);

// Every config key with its default value, as deploy/afp_exporter.json ships it.
nlohmann::ordered_json default_config(CollectorList collectors);

// "5s", "200ms", "1m", "1h", "1m30s".
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::milliseconds d);

}  // namespace afp::config
