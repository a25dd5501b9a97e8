#include "config/options.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <set>
#include <sstream>

#include "collectors/name_filter.h"
#include "core/listen_address.h"
#include "core/text_file.h"
#include "pg/excluded_roles.h"

namespace afp::config {

namespace {

using json = nlohmann::json;

enum class Kind { boolean, string, string_list, integer, duration, regex, choice };

struct OptionDef {
  std::string name;
  Kind kind;
  std::string help;
  std::function<json(const Options&)> get;
  std::function<void(Options&, const json&)> set;
  std::vector<std::string> choices = {};
  // Extra validation of an already well-typed value; returns the problem or "".
  std::function<std::string(const json&)> check = {};
};

std::string kind_text(const OptionDef& def) {
  switch (def.kind) {
    case Kind::boolean:
      return "true or false";
    case Kind::string:
      return "a string";
    case Kind::string_list:
      return "a list of strings";
    case Kind::integer:
      return "an integer";
    case Kind::duration:
      return "a duration such as \"5s\" or \"200ms\"";
    case Kind::regex:
      return "a regular expression";
    case Kind::choice: {
      std::string out = "one of";
      for (const auto& c : def.choices)
        out += " \"" + c + "\"";
      return out;
    }
  }
  return "a value";
}

std::string check_listen_addresses(const json& value) {
  if (value.empty()) return "at least one listen address is needed";
  for (const auto& address : value) {
    std::string error;
    if (!core::parse_listen_address(address.get<std::string>(), &error)) return error;
  }
  return {};
}

std::string check_telemetry_path(const json& value) {
  auto path = value.get<std::string>();
  if (path.empty() || path[0] != '/') return "must start with \"/\"";
  for (const char* reserved : {"/", "/-/healthy", "/-/ready", "/api/v1/observations"}) {
    if (path == reserved) return "\"" + path + "\" is already a route of its own";
  }
  return {};
}

template <typename T>
std::function<json(const Options&)> getter(T Options::*member) {
  return [member](const Options& o) { return json(o.*member); };
}
template <typename T>
std::function<void(Options&, const json&)> setter(T Options::*member) {
  return [member](Options& o, const json& v) { o.*member = v.get<T>(); };
}
template <typename T>
std::function<json(const Options&)> getter(T collectors::CollectorSettings::*member) {
  return [member](const Options& o) { return json(o.collectors.*member); };
}
template <typename T>
std::function<void(Options&, const json&)> setter(T collectors::CollectorSettings::*member) {
  return [member](Options& o, const json& v) { o.collectors.*member = v.get<T>(); };
}

OptionDef duration_option(std::string name, std::string help,
                          std::chrono::milliseconds PostgresOptions::*member) {
  return {std::move(name), Kind::duration, std::move(help),
          [member](const Options& o) { return json(format_duration(o.postgres.*member)); },
          [member](Options& o, const json& v) {
            o.postgres.*member = *parse_duration(v.get<std::string>());
          }};
}

void add_pipeline_options(std::vector<OptionDef>& t) {
  using I = IngestOptions;
  auto ingest_int = [&](std::string name, std::string help, long long I::*member, long long min,
                        long long max) {
    t.push_back({std::move(name),
                 Kind::integer,
                 std::move(help),
                 [member](const Options& o) { return json(o.ingest.*member); },
                 [member](Options& o, const json& v) { o.ingest.*member = v.get<long long>(); },
                 {},
                 [min, max](const json& v) {
                   auto n = v.get<long long>();
                   return n < min || n > max ? "must be between " + std::to_string(min) + " and " +
                                                   std::to_string(max)
                                             : std::string();
                 }});
  };
  t.push_back({"ingest.token-file", Kind::string,
               "File holding the bearer token that POST /api/v1/observations requires, when "
               "neither AFP_INGEST_TOKEN nor AFP_INGEST_TOKEN_FILE is set.",
               [](const Options& o) { return json(o.ingest.token_file); },
               [](Options& o, const json& v) { o.ingest.token_file = v.get<std::string>(); }});
  t.push_back({"ingest.allow-unauthenticated", Kind::boolean,
               "Without a token, accept observations from any peer; by default only loopback "
               "peers may push without one.",
               [](const Options& o) { return json(o.ingest.allow_unauthenticated); },
               [](Options& o, const json& v) { o.ingest.allow_unauthenticated = v.get<bool>(); }});
  ingest_int("ingest.max-body-bytes", "Largest ingest request body (larger: 413).",
             &I::max_body_bytes, 1024, 256LL << 20);
  ingest_int("ingest.max-batch-items", "Most observations in one ingest request.",
             &I::max_batch_items, 1, 1'000'000);
  ingest_int("ingest.max-label-values",
             "Most distinct values a pushed label (endpoint, method, status) may take; "
             "observations with further values are refused and counted.",
             &I::max_label_values, 1, 100'000);
  ingest_int("ingest.max-series",
             "Most series of one pushed family (api_request's endpoint, method and status "
             "combinations); observations that would create more are refused and counted.",
             &I::max_series, 1, 100'000);
  ingest_int("ingest.max-label-value-length", "Longest pushed label value, in bytes.",
             &I::max_label_value_length, 1, 4096);
  t.push_back(
      {"statsd.listen-address",
       Kind::string,
       "UDP address of the statsd/DogStatsD listener, e.g. 127.0.0.1:9125; empty: off.",
       [](const Options& o) { return json(o.ingest.statsd_listen_address); },
       [](Options& o, const json& v) { o.ingest.statsd_listen_address = v.get<std::string>(); },
       {},
       [](const json& v) {
         auto address = v.get<std::string>();
         std::string error;
         if (address.empty() || core::parse_listen_address(address, &error)) return std::string();
         return error;
       }});
  ingest_int("statsd.read-buffer-bytes",
             "Socket receive buffer asked for (SO_RCVBUF); bursts beyond it are dropped by the "
             "kernel and counted.",
             &I::statsd_read_buffer_bytes, 65536, 1LL << 30);
  using P = ProbeSettings;
  auto probe_string = [&](std::string name, std::string help, std::string P::*member) {
    t.push_back({std::move(name), Kind::string, std::move(help),
                 [member](const Options& o) { return json(o.probe.*member); },
                 [member](Options& o, const json& v) { o.probe.*member = v.get<std::string>(); }});
  };
  auto probe_duration = [&](std::string name, std::string help,
                            std::chrono::milliseconds P::*member) {
    t.push_back({std::move(name),
                 Kind::duration,
                 std::move(help),
                 [member](const Options& o) { return json(format_duration(o.probe.*member)); },
                 [member](Options& o, const json& v) {
                   o.probe.*member = *parse_duration(v.get<std::string>());
                 },
                 {},
                 [](const json& v) {
                   return parse_duration(v.get<std::string>())->count() <= 0
                              ? std::string("must be longer than 0s")
                              : std::string();
                 }});
  };
  probe_string("probe.url",
               "The app's identify endpoint (http or https) to upload --probe.audio-file to on "
               "a schedule; empty: no probe.",
               &P::url);
  probe_string("probe.audio-file", "Reference audio the probe uploads.", &P::audio_file);
  probe_duration("probe.interval", "Time between probe starts (runs never overlap).", &P::interval);
  probe_duration("probe.timeout", "Give up a probe request after this.", &P::timeout);
  probe_string("probe.form-field",
               "Multipart form field that carries the audio; empty: send it as the raw body.",
               &P::form_field);
  probe_string("probe.content-type", "Content type of the uploaded audio.", &P::content_type);
}

std::vector<OptionDef> build_option_table(CollectorList collectors) {
  using S = collectors::CollectorSettings;
  std::vector<OptionDef> t;
  t.push_back({"web.listen-address",
               Kind::string_list,
               "Address to listen on (repeatable), e.g. :9793 or 127.0.0.1:9793.",
               getter(&Options::listen_addresses),
               setter(&Options::listen_addresses),
               {},
               check_listen_addresses});
  t.push_back({"web.telemetry-path",
               Kind::string,
               "Path under which to expose metrics.",
               getter(&Options::telemetry_path),
               setter(&Options::telemetry_path),
               {},
               check_telemetry_path});
  t.push_back({"web.max-requests",
               Kind::integer,
               "Maximum number of parallel scrape requests; 0 disables the limit.",
               getter(&Options::max_requests),
               setter(&Options::max_requests),
               {},
               [](const json& v) {
                 auto n = v.get<long long>();
                 return n < 0 || n > 10000 ? std::string("must be between 0 and 10000") : "";
               }});
  t.push_back({"web.config.file", Kind::string,
               "File that enables TLS and/or basic authentication, in the exporter-toolkit "
               "format node_exporter uses (paths in it are relative to its directory); "
               "re-read on SIGHUP. Empty: plain HTTP, no authentication.",
               getter(&Options::web_config_file), setter(&Options::web_config_file)});
  t.push_back({"collector.disable-defaults", Kind::boolean,
               "Start with every collector off; enable them one by one with --collector.NAME.",
               getter(&Options::disable_defaults), setter(&Options::disable_defaults)});
  for (const auto& collector : collectors) {
    std::string name(collector.name);
    std::string help(collector.help);
    for (auto alias : collector.aliases)
      help += " Alias: --collector." + std::string(alias) + ".";
    bool on = collector.enabled_by_default;
    t.push_back({"collector." + name, Kind::boolean, help + (on ? " (default: on)" : ""),
                 [name, on](const Options& o) { return json(o.collector_enabled(name, on)); },
                 [name](Options& o, const json& v) { o.collector_flags[name] = v.get<bool>(); }});
  }
  t.push_back({"collector.filesystem.mount-points-exclude", Kind::regex,
               "Regexp of mount points to ignore (mutually exclusive to mount-points-include).",
               getter(&S::mount_points_exclude), setter(&S::mount_points_exclude)});
  t.push_back({"collector.filesystem.mount-points-include", Kind::regex,
               "Regexp of mount points to report; replaces the default mount-points-exclude "
               "(mutually exclusive to a non-default one).",
               getter(&S::mount_points_include), setter(&S::mount_points_include)});
  t.push_back({"collector.filesystem.fs-types-exclude", Kind::regex,
               "Regexp of filesystem types to ignore (mutually exclusive to fs-types-include).",
               getter(&S::fs_types_exclude), setter(&S::fs_types_exclude)});
  t.push_back({"collector.filesystem.fs-types-include", Kind::regex,
               "Regexp of filesystem types to report; replaces the default fs-types-exclude "
               "(mutually exclusive to a non-default one).",
               getter(&S::fs_types_include), setter(&S::fs_types_include)});
  t.push_back({"collector.filesystem.mount-timeout", Kind::duration,
               "How long to wait for a mount to answer statfs before reporting device_error "
               "and skipping it until it answers.",
               [](const Options& o) { return json(format_duration(o.collectors.mount_timeout)); },
               [](Options& o, const json& v) {
                 o.collectors.mount_timeout = *parse_duration(v.get<std::string>());
               }});
  t.push_back({"collector.diskstats.device-exclude", Kind::regex,
               "Regexp of disk devices to ignore (default: partitions, loop and ram devices).",
               getter(&S::disk_device_exclude), setter(&S::disk_device_exclude)});
  t.push_back({"collector.netdev.device-include", Kind::regex,
               "Regexp of network devices to report (empty: all).",
               getter(&S::netdev_device_include), setter(&S::netdev_device_include)});
  t.push_back({"collector.netdev.device-exclude", Kind::regex,
               "Regexp of network devices to ignore.", getter(&S::netdev_device_exclude),
               setter(&S::netdev_device_exclude)});
  t.push_back({"pg.dsn-file", Kind::string,
               "File holding the PostgreSQL DSN (URI or key=value), when neither AFP_PG_DSN nor "
               "AFP_PG_DSN_FILE is set; without any of the three, postgres_exporter's "
               "DATA_SOURCE_NAME, or DATA_SOURCE_URI with DATA_SOURCE_USER and "
               "DATA_SOURCE_PASS (each or its _FILE). Without a DSN the PostgreSQL collectors "
               "stay off.",
               [](const Options& o) { return json(o.postgres.dsn_file); },
               [](Options& o, const json& v) { o.postgres.dsn_file = v.get<std::string>(); }});
  t.push_back(duration_option("pg.connect-timeout", "Give up connecting to PostgreSQL after this.",
                              &PostgresOptions::connect_timeout));
  t.push_back(duration_option("pg.statement-timeout",
                              "statement_timeout of the exporter's PostgreSQL session: the "
                              "server ends any of its queries running longer.",
                              &PostgresOptions::statement_timeout));
  t.push_back(duration_option("pg.cache-ttl",
                              "Reuse a PostgreSQL collection for this long (0: every scrape "
                              "queries; concurrent scrapes still share one collection).",
                              &PostgresOptions::cache_ttl));
  t.push_back({"pg.prefetch", Kind::boolean,
               "Start the PostgreSQL collection as a scrape begins, so that its queries run "
               "while the other collectors do, rather than in its turn. It can pay when the "
               "queries wait on a network; with the server on the same few CPUs, the two "
               "compete and a scrape takes longer.",
               [](const Options& o) { return json(o.postgres.prefetch); },
               [](Options& o, const json& v) { o.postgres.prefetch = v.get<bool>(); }});
  auto count_check = [](long long max) {
    return [max](const json& v) {
      auto n = v.get<long long>();
      return n < 0 || n > max ? "must be between 0 and " + std::to_string(max) : std::string();
    };
  };
  t.push_back(
      {"pg.relations.limit",
       Kind::integer,
       "Export pg_stat_user_tables and pg_stat_user_indexes for the largest tables "
       "and indexes, at most this many of each (the rest are counted in "
       "afp_pg_stat_user_*_omitted); 0: all.",
       [](const Options& o) { return json(o.pg_collectors.relations_limit); },
       [](Options& o, const json& v) { o.pg_collectors.relations_limit = v.get<long long>(); },
       {},
       count_check(1'000'000)});
  t.push_back(
      {"pg.statements.limit",
       Kind::integer,
       "Export the pg_stat_statements statements with the most total execution time "
       "(after merging IN/VALUES list lengths), at most this many; 0: all.",
       [](const Options& o) { return json(o.pg_collectors.statements.limit); },
       [](Options& o, const json& v) { o.pg_collectors.statements.limit = v.get<long long>(); },
       {},
       count_check(1'000'000)});
  t.push_back(
      {"pg.statements.min-calls",
       Kind::integer,
       "Leave out statements (after merging) called fewer times than this; the "
       "default 1 leaves out only entries planned but never executed.",
       [](const Options& o) { return json(o.pg_collectors.statements.min_calls); },
       [](Options& o, const json& v) { o.pg_collectors.statements.min_calls = v.get<long long>(); },
       {},
       count_check(1'000'000'000'000)});
  t.push_back({"pg.statements.include-query", Kind::boolean,
               "Also export pg_stat_statements_query_id{queryid,query} 1 with each statement's "
               "normalized text (at most 120 characters, merged lists as (...)).",
               [](const Options& o) { return json(o.pg_collectors.statements.include_query); },
               [](Options& o, const json& v) {
                 o.pg_collectors.statements.include_query = v.get<bool>();
               }});
  t.push_back({"pg.statements.all-databases", Kind::boolean,
               "Report the statements of every database, not only of the database the DSN "
               "connects to (where the extension must be installed either way).",
               [](const Options& o) { return json(o.pg_collectors.statements.all_databases); },
               [](Options& o, const json& v) {
                 o.pg_collectors.statements.all_databases = v.get<bool>();
               }});
  t.push_back({"pg.statements.exclude-users",
               Kind::string,
               "Leave out the statements these roles ran (ROLE,ROLE,...; default none): "
               "maintenance or fault-injection sessions, whose statements are not the app's.",
               [](const Options& o) {
                 return json(pg::role_list_text(o.pg_collectors.statements.exclude_users));
               },
               [](Options& o, const json& v) {
                 o.pg_collectors.statements.exclude_users =
                     pg::parse_role_list(v.get<std::string>());
               },
               {},
               [](const json& v) -> std::string {
                 try {
                   pg::parse_role_list(v.get<std::string>());
                 } catch (const std::invalid_argument& e) {
                   return e.what();
                 }
                 return {};
               }});
  add_pipeline_options(t);
  t.push_back(
      {"path.procfs", Kind::string, "procfs mount point.", getter(&S::procfs), setter(&S::procfs)});
  t.push_back(
      {"path.sysfs", Kind::string, "sysfs mount point.", getter(&S::sysfs), setter(&S::sysfs)});
  t.push_back({"path.rootfs", Kind::string, "rootfs mount point (for filesystem stats).",
               getter(&S::rootfs), setter(&S::rootfs)});
  t.push_back(
      {"log.level",
       Kind::choice,
       "Only log messages with the given severity or above.",
       [](const Options& o) {
         static const char* names[] = {"debug", "info", "warn", "error"};
         return json(names[static_cast<int>(o.log_level)]);
       },
       [](Options& o, const json& v) { o.log_level = *log::parse_level(v.get<std::string>()); },
       {"debug", "info", "warn", "error"}});
  t.push_back(
      {"log.format",
       Kind::choice,
       "Output format of log messages.",
       [](const Options& o) { return json(o.log_format == log::Format::json ? "json" : "logfmt"); },
       [](Options& o, const json& v) { o.log_format = *log::parse_format(v.get<std::string>()); },
       {"logfmt", "json"}});
  return t;
}

// The options of one parse: built from the collector list the caller hands in.
struct OptionTable {
  CollectorList collectors;
  std::vector<OptionDef> defs = build_option_table(collectors);
};

// The collector an alias stands for, or the name itself when it is no alias.
std::string_view canonical_collector_name(CollectorList collectors, std::string_view name) {
  for (const auto& collector : collectors) {
    for (auto alias : collector.aliases) {
      if (alias == name) return collector.name;
    }
  }
  return name;
}

const OptionDef* find_option(const OptionTable& table, std::string_view name) {
  // postgres_exporter's collector names stand for ours: collector.stat_database is
  // collector.pg_stat_database.
  std::string canonical;
  if (name.starts_with("collector.")) {
    auto collector = name.substr(std::string_view("collector.").size());
    canonical = "collector." + std::string(canonical_collector_name(table.collectors, collector));
    name = canonical;
  }
  for (const auto& def : table.defs) {
    if (def.name == name) return &def;
  }
  return nullptr;
}

// Checks a value against its option's kind; "" when it fits.
std::string type_problem(const OptionDef& def, const json& v) {
  bool ok = false;
  switch (def.kind) {
    case Kind::boolean:
      ok = v.is_boolean();
      break;
    case Kind::string:
      ok = v.is_string();
      break;
    case Kind::string_list:
      ok = v.is_array() &&
           std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); });
      break;
    case Kind::integer:
      ok = v.is_number_integer();
      break;
    case Kind::duration:
      ok = v.is_string() && parse_duration(v.get<std::string>()).has_value();
      break;
    case Kind::regex:
      if (!v.is_string()) break;
      if (auto err = collectors::validate_regex(v.get<std::string>()); !err.empty()) {
        return "invalid regular expression: " + err;
      }
      ok = true;
      break;
    case Kind::choice:
      ok = v.is_string() && std::find(def.choices.begin(), def.choices.end(),
                                      v.get<std::string>()) != def.choices.end();
      break;
  }
  if (!ok) return "expected " + kind_text(def) + ", got " + v.dump();
  return def.check ? def.check(v) : "";
}

void apply(Options& options, const OptionDef& def, const json& value, const std::string& where) {
  if (auto problem = type_problem(def, value); !problem.empty()) {
    throw ConfigError(where + ": " + problem);
  }
  def.set(options, value);
}

// A flag's text value into the JSON value its option takes.
json flag_value(const OptionDef& def, const std::string& text) {
  switch (def.kind) {
    case Kind::boolean:
      if (text == "true") return true;
      if (text == "false") return false;
      return text;  // rejected by type_problem with the usual message
    case Kind::integer: {
      long long n = 0;
      auto res = std::from_chars(text.data(), text.data() + text.size(), n);
      if (res.ec == std::errc() && res.ptr == text.data() + text.size() && !text.empty()) return n;
      return text;
    }
    default:
      return text;
  }
}

// " at line 3, column 15: syntax error while parsing object ..." out of nlohmann's
// "[json.exception.parse_error.101] parse error at line 3, column 15: syntax error ...".
std::string json_syntax_error(const json::parse_error& e) {
  std::string_view text = e.what();
  constexpr std::string_view kMarker = "] parse error";
  if (auto at = text.find(kMarker); at != std::string_view::npos) {
    text.remove_prefix(at + kMarker.size());
  }
  return std::string(text);
}

// nlohmann keeps the last of two equal keys: a file that says a thing twice would mean
// only one of them, silently. Refused, as ingest refuses a batch that does it.
json parse_refusing_duplicate_keys(std::string_view text, const std::string& where) {
  std::vector<std::set<std::string>> keys_of_open_objects;
  std::string duplicate;
  auto watch = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) keys_of_open_objects.emplace_back();
    if (event == json::parse_event_t::object_end) keys_of_open_objects.pop_back();
    if (event == json::parse_event_t::key && duplicate.empty() &&
        !keys_of_open_objects.back().insert(parsed.get<std::string>()).second) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  json doc;
  try {
    doc = json::parse(text, watch);
  } catch (const json::parse_error& e) {
    throw ConfigError(where + ": not valid JSON" + json_syntax_error(e));
  }
  // dump() escapes control characters: the message stays one line whatever the key holds.
  if (!duplicate.empty())
    throw ConfigError(where + ": key " + json(duplicate).dump() + " is given twice");
  return doc;
}

Options load_config_file(const OptionTable& table, const std::string& path) {
  Options options;
  options.config_file = path;
  std::string text, error;
  if (!core::read_text_file(path, &text, &error)) {
    throw ConfigError("config file " + path + ": cannot be read: " + error);
  }
  json doc = parse_refusing_duplicate_keys(text, "config file " + path);
  if (!doc.is_object()) throw ConfigError("config file " + path + ": must be a JSON object");
  for (const auto& [key, value] : doc.items()) {
    const OptionDef* def = find_option(table, key);
    if (!def) throw ConfigError("config file " + path + ": unknown key \"" + key + "\"");
    apply(options, *def, value, "config file " + path + ": key \"" + key + "\"");
  }
  return options;
}

// node_exporter refuses an include pattern given with an exclude pattern other than the
// default one (which the include pattern replaces: collectors::effective_exclude).
void check_filesystem_filters(const collectors::CollectorSettings& s) {
  auto check = [](const std::string& include, const std::string& exclude,
                  std::string_view default_exclude, const char* what) {
    if (!collectors::effective_exclude(include, exclude, default_exclude).empty() &&
        !include.empty()) {
      throw ConfigError(std::string("--collector.filesystem.") + what +
                        "-exclude and --collector.filesystem." + what +
                        "-include are mutually exclusive");
    }
  };
  check(s.mount_points_include, s.mount_points_exclude, collectors::kDefaultMountPointsExclude,
        "mount-points");
  check(s.fs_types_include, s.fs_types_exclude, collectors::kDefaultFsTypesExclude, "fs-types");
}

std::string find_config_file(const std::vector<std::string>& args) {
  std::string path;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config.file") {
      if (i + 1 >= args.size()) throw ConfigError("flag --config.file needs a value");
      path = args[i + 1];
    } else if (args[i].starts_with("--config.file=")) {
      path = args[i].substr(std::string("--config.file=").size());
    }
  }
  return path;
}

}  // namespace

bool Options::collector_enabled(std::string_view name, bool enabled_by_default) const {
  if (auto it = collector_flags.find(name); it != collector_flags.end()) return it->second;
  return enabled_by_default && !disable_defaults;
}

bool Options::collector_enabled(std::string_view name) const {
  for (const auto& collector : known_collectors) {
    if (collector.name == name) return collector_enabled(name, collector.enabled_by_default);
  }
  return false;
}

std::vector<std::string> Options::enabled_collectors() const {
  std::vector<std::string> out;
  for (const auto& collector : known_collectors) {
    if (collector_enabled(collector.name)) out.emplace_back(collector.name);
  }
  return out;
}

CommandLine parse_command_line(const std::vector<std::string>& args, CollectorList collectors) {
  CommandLine cl;
  const OptionTable table{collectors};
  std::string config_path = find_config_file(args);
  if (!config_path.empty()) cl.options = load_config_file(table, config_path);
  cl.options.known_collectors = collectors;
  bool listen_from_flags = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      cl.help = true;
      continue;
    }
    if (arg == "--version") {
      cl.version = true;
      continue;
    }
    if (!arg.starts_with("--")) throw ConfigError("unexpected argument \"" + arg + "\"");
    auto eq = arg.find('=');
    std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (name == "config.file") {
      if (eq == std::string::npos) ++i;
      continue;
    }
    const OptionDef* def = find_option(table, name);
    bool negated = false;
    if (!def && name.starts_with("no-")) {
      def = find_option(table, name.substr(3));
      negated = def && def->kind == Kind::boolean;
      if (!negated) def = nullptr;
    }
    if (!def) throw ConfigError("unknown flag --" + name + " (see --help)");
    json value;
    if (def->kind == Kind::boolean && eq == std::string::npos) {
      value = !negated;
    } else if (negated) {
      throw ConfigError("flag --" + name + " takes no value");
    } else if (eq != std::string::npos) {
      value = flag_value(*def, arg.substr(eq + 1));
    } else if (i + 1 < args.size()) {
      value = flag_value(*def, args[++i]);
    } else {
      throw ConfigError("flag --" + name + " needs a value");
    }
    if (def->kind == Kind::string_list) {
      // The first --web.listen-address replaces the default and the file's list.
      json list = listen_from_flags ? def->get(cl.options) : json::array();
      list.push_back(value);
      listen_from_flags = true;
      value = list;
    }
    apply(cl.options, *def, value, "flag --" + def->name);
  }
  cl.options.config_file = config_path;
  check_filesystem_filters(cl.options.collectors);
  return cl;
}

Options reload(const std::vector<std::string>& args, CollectorList collectors) {
  return parse_command_line(args, collectors).options;
}

std::string usage(CollectorList collectors) {
  std::ostringstream out;
  out << "usage: afp_exporter [<flags>]\n"
         "       afp_exporter status [--url URL] [--json]\n"
         "       afp_exporter profile [--mode audio|api|database|system|full] [--iterations N]\n"
         "       afp_exporter db report [--format text|json] | db optimize [--apply]\n"
         "       afp_exporter web hash-password [--cost N] < password-file\n\n"
         "Prometheus exporter for audio-fingerprinting services: system, pipeline and\n"
         "PostgreSQL metrics at /metrics.\n\nFlags:\n"
         "  --help                 Show this help.\n"
         "  --version              Show the version.\n"
         "  --config.file=FILE     JSON file with any of the keys below (flags override it).\n";
  Options defaults;
  for (const auto& def : OptionTable{collectors}.defs) {
    std::string flag = "--" + def.name;
    if (def.kind == Kind::boolean) flag = "--[no-]" + def.name;
    out << "  " << flag << "\n      " << def.help;
    if (def.kind != Kind::boolean) {
      json d = def.get(defaults);
      out << " (default: " << (d.is_string() ? d.get<std::string>() : d.dump()) << ")";
    }
    out << "\n";
  }
  return out.str();
}

nlohmann::ordered_json default_config(CollectorList collectors) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  Options defaults;
  for (const auto& def : OptionTable{collectors}.defs)
    out[def.name] = def.get(defaults);
  return out;
}

}  // namespace afp::config
