#include <fstream>

#include "app/catalog.h"
#include "config/options.h"
#include "golden.h"

using namespace afp;

namespace {

// The flags with the catalog's collectors, as main.cpp parses them.
config::CommandLine parse_command_line(const std::vector<std::string>& args) {
  return config::parse_command_line(args, collectors::collector_flags());
}

std::string write_temp(const std::string& name, const std::string& content) {
  std::string path = "/tmp/afp_config_test_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path) << content;
  return path;
}

std::string error_of(const std::vector<std::string>& args) {
  try {
    parse_command_line(args);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("defaults follow node_exporter conventions", "[config]") {
  auto cl = parse_command_line({});
  CHECK(cl.options.listen_addresses == std::vector<std::string>{":9793"});
  CHECK(cl.options.telemetry_path == "/metrics");
  // The PostgreSQL ones are on too, and run when a DSN is configured; the probe with a URL.
  CHECK(cl.options.enabled_collectors() == std::vector<std::string>{"cpu",
                                                                    "loadavg",
                                                                    "meminfo",
                                                                    "filesystem",
                                                                    "diskstats",
                                                                    "netdev",
                                                                    "netclass",
                                                                    "stat",
                                                                    "vmstat",
                                                                    "filefd",
                                                                    "time",
                                                                    "uname",
                                                                    "os",
                                                                    "process",
                                                                    "postgres",
                                                                    "pg_stat_database",
                                                                    "pg_stat_user_tables",
                                                                    "pg_stat_user_indexes",
                                                                    "pg_stat_statements",
                                                                    "pipeline",
                                                                    "probe"});
  CHECK(cl.options.postgres.statement_timeout == std::chrono::seconds(2));
  CHECK(cl.options.postgres.cache_ttl == std::chrono::seconds(0));
  CHECK_FALSE(cl.options.postgres.prefetch);
  CHECK(cl.options.collectors.mount_timeout == std::chrono::seconds(5));
}

TEST_CASE("flags select collectors", "[config]") {
  CHECK(parse_command_line({"--no-collector.cpu"}).options.collector_enabled("cpu") == false);
  CHECK(parse_command_line({"--collector.cpu=false"}).options.collector_enabled("cpu") == false);
  auto only = parse_command_line({"--collector.disable-defaults", "--collector.meminfo"});
  CHECK(only.options.enabled_collectors() == std::vector<std::string>{"meminfo"});
}

TEST_CASE("the PostgreSQL prefetch is off by default, and --pg.prefetch turns it on", "[config]") {
  CHECK(parse_command_line({"--pg.prefetch"}).options.postgres.prefetch);
  CHECK(parse_command_line({"--pg.prefetch=true"}).options.postgres.prefetch);
  CHECK_FALSE(parse_command_line({"--no-pg.prefetch"}).options.postgres.prefetch);
}

TEST_CASE("postgres_exporter's collector names are aliases of ours", "[config]") {
  const std::vector<std::pair<std::string, std::string>> aliases{
      {"stat_database", "pg_stat_database"},
      {"stat_user_tables", "pg_stat_user_tables"},
      {"stat_statements", "pg_stat_statements"}};
  for (const auto& [alias, name] : aliases) {
    INFO(alias);
    CHECK_FALSE(parse_command_line({"--no-collector." + alias}).options.collector_enabled(name));
    CHECK_FALSE(
        parse_command_line({"--collector." + alias + "=false"}).options.collector_enabled(name));
    auto only = parse_command_line({"--collector.disable-defaults", "--collector." + alias});
    CHECK(only.options.enabled_collectors() == std::vector<std::string>{name});
    // The last flag wins, whichever name it uses.
    CHECK(parse_command_line({"--no-collector." + name, "--collector." + alias})
              .options.collector_enabled(name));
    CHECK_THAT(config::usage(collectors::collector_flags()),
               Catch::Contains("Alias: --collector." + alias + "."));
  }
  auto path = write_temp("alias.json", R"({"collector.stat_statements": false})");
  CHECK_FALSE(
      parse_command_line({"--config.file", path}).options.collector_enabled("pg_stat_statements"));
  unlink(path.c_str());
  // Aliases are no keys of their own: the shipped config lists ours only.
  CHECK_FALSE(
      config::default_config(collectors::collector_flags()).contains("collector.stat_database"));
  // postgres_exporter 0.11's own collectors (pg_database_size_bytes, pg_stat_bgwriter_*)
  // have no counterpart here: asking for them is an error, not silently nothing.
  CHECK_THAT(error_of({"--collector.bgwriter"}),
             Catch::Contains("unknown flag --collector.bgwriter"));
  CHECK_THAT(error_of({"--no-collector.database"}),
             Catch::Contains("unknown flag --no-collector.database"));
  CHECK_THAT(error_of({"--collector.stat_database=maybe"}),
             Catch::Contains("flag --collector.pg_stat_database"));
}

TEST_CASE("flag values in both forms, repeatable listen address", "[config]") {
  auto cl = parse_command_line({"--web.listen-address", "127.0.0.1:1", "--web.listen-address=:2",
                                "--collector.filesystem.mount-timeout=250ms", "--log.level=debug",
                                "--path.procfs", "/p"});
  CHECK(cl.options.listen_addresses == std::vector<std::string>{"127.0.0.1:1", ":2"});
  CHECK(cl.options.collectors.mount_timeout == std::chrono::milliseconds(250));
  CHECK(cl.options.log_level == log::Level::debug);
  CHECK(cl.options.collectors.procfs == "/p");
  CHECK(parse_command_line({"--help"}).help);
  CHECK(parse_command_line({"--version"}).version);
}

TEST_CASE("bad flags name the problem", "[config]") {
  CHECK_THAT(error_of({"--bogus"}), Catch::Contains("unknown flag --bogus"));
  CHECK_THAT(error_of({"--no-web.telemetry-path"}), Catch::Contains("unknown flag"));
  CHECK_THAT(error_of({"--web.telemetry-path"}), Catch::Contains("needs a value"));
  CHECK_THAT(error_of({"--web.telemetry-path=metrics"}), Catch::Contains("must start with"));
  CHECK_THAT(error_of({"--web.telemetry-path=/-/healthy"}), Catch::Contains("route of its own"));
  CHECK_THAT(error_of({"--web.listen-address=:70000"}),
             Catch::Contains("--web.listen-address") && Catch::Contains("bad port"));
  CHECK_THAT(error_of({"--web.max-requests=-1"}), Catch::Contains("between 0 and"));
  CHECK_THAT(error_of({"--web.max-requests=ten"}), Catch::Contains("expected an integer"));
  CHECK_THAT(error_of({"--collector.filesystem.mount-timeout=5"}), Catch::Contains("duration"));
  CHECK_THAT(error_of({"--collector.diskstats.device-exclude=(("}),
             Catch::Contains("invalid regular expression"));
  CHECK_THAT(error_of({"--log.format=xml"}), Catch::Contains("\"logfmt\" \"json\""));
  CHECK_THAT(error_of({"--collector.cpu=maybe"}), Catch::Contains("true or false"));
  CHECK_THAT(error_of({"--no-collector.cpu=1"}), Catch::Contains("takes no value"));
  CHECK_THAT(error_of({"serve"}), Catch::Contains("unexpected argument \"serve\""));
}

TEST_CASE("filesystem include flags drop the default exclude, refuse another one", "[config]") {
  auto cl = parse_command_line({"--collector.filesystem.mount-points-include=^/srv",
                                "--collector.filesystem.fs-types-include=^ext4$"});
  CHECK(cl.options.collectors.mount_points_include == "^/srv");
  CHECK(cl.options.collectors.fs_types_include == "^ext4$");
  CHECK_THAT(error_of({"--collector.filesystem.mount-points-include=^/srv",
                       "--collector.filesystem.mount-points-exclude=^/srv/tmp"}),
             Catch::Contains("--collector.filesystem.mount-points-exclude and "
                             "--collector.filesystem.mount-points-include are mutually exclusive"));
  CHECK_THAT(error_of({"--collector.filesystem.fs-types-exclude=^tmpfs$",
                       "--collector.filesystem.fs-types-include=^ext4$"}),
             Catch::Contains("fs-types-include are mutually exclusive"));
  CHECK_THAT(error_of({"--collector.filesystem.fs-types-include=(("}),
             Catch::Contains("invalid regular expression"));
  // An exclude pattern emptied explicitly goes with an include pattern.
  CHECK(error_of({"--collector.filesystem.fs-types-exclude=",
                  "--collector.filesystem.fs-types-include=^ext4$"})
            .empty());
}

TEST_CASE("config file keys equal flag names, flags override the file", "[config]") {
  auto path = write_temp("ok.json", R"({"web.listen-address": ["127.0.0.1:9000"],
      "collector.cpu": false, "log.format": "json", "collector.filesystem.mount-timeout": "2s"})");
  auto cl = parse_command_line({"--config.file", path, "--log.format=logfmt"});
  CHECK(cl.options.listen_addresses == std::vector<std::string>{"127.0.0.1:9000"});
  CHECK_FALSE(cl.options.collector_enabled("cpu"));
  CHECK(cl.options.log_format == log::Format::logfmt);
  CHECK(cl.options.collectors.mount_timeout == std::chrono::seconds(2));
  CHECK(cl.options.config_file == path);
  auto relisten = parse_command_line({"--config.file=" + path, "--web.listen-address=:1"});
  CHECK(relisten.options.listen_addresses == std::vector<std::string>{":1"});
}

TEST_CASE("config file errors name the key", "[config]") {
  CHECK_THAT(
      error_of({"--config.file=" + write_temp("u.json", R"({"web.listen-adress": [":1"]})")}),
      Catch::Contains("unknown key \"web.listen-adress\""));
  CHECK_THAT(error_of({"--config.file=" + write_temp("t.json", R"({"collector.cpu": "yes"})")}),
             Catch::Contains("key \"collector.cpu\"") && Catch::Contains("true or false"));
  CHECK_THAT(error_of({"--config.file=" + write_temp("v.json", R"({"web.max-requests": 1.5})")}),
             Catch::Contains("key \"web.max-requests\""));
  CHECK_THAT(error_of({"--config.file=" + write_temp("l.json", R"({"web.listen-address": ":1"})")}),
             Catch::Contains("list of strings"));
  // Where the syntax breaks, in the operator's words: line and column, not nlohmann's id.
  CHECK_THAT(error_of({"--config.file=" + write_temp("j.json", "{not json")}),
             Catch::Contains(": not valid JSON at line 1, column 3: syntax error while parsing "
                             "object key") &&
                 !Catch::Contains("json.exception"));
  // What nlohmann quotes of the file keeps its line breaks escaped: the message is one line.
  CHECK_THAT(
      error_of({"--config.file=" + write_temp("k.json", "{\n  \"log.level\":\n tru\n}")}),
      Catch::Contains("not valid JSON at line 4, column 0: syntax error while parsing value "
                      "- invalid literal; last read: '\"log.level\":<U+000A> tru<U+000A>'") &&
          !Catch::Contains("\n"));
  // The system's reason for a path that is not a readable file, and a bound on what is read.
  CHECK(error_of({"--config.file=/tmp"}) == "config file /tmp: cannot be read: Is a directory");
  CHECK(error_of({"--config.file=/dev/zero"}) ==
        "config file /dev/zero: cannot be read: larger than 4 MiB");
  CHECK_THAT(error_of({"--config.file=" + write_temp("a.json", "[]")}),
             Catch::Contains("must be a JSON object"));
  CHECK_THAT(error_of({"--config.file=/nonexistent/afp.json"}),
             Catch::Contains("cannot be read") && Catch::Contains("No such file or directory"));
  // nlohmann keeps the last of two equal keys: the file would say two things and mean one.
  CHECK_THAT(error_of({"--config.file=" + write_temp("d.json", R"({"log.level": "info",
                                                                  "log.level": "debug"})")}),
             Catch::Contains("key \"log.level\" is given twice"));
  CHECK_THAT(error_of({"--config.file=" + write_temp("e.json", "{\"a\\nb\": 1, \"a\\nb\": 2}")}),
             Catch::Contains("key \"a\\nb\" is given twice") && !Catch::Contains("\n"));
}

TEST_CASE("deploy/afp_exporter.json lists every key with its default", "[config]") {
  auto shipped = nlohmann::ordered_json::parse(
      test::slurp(std::string(AFP_SOURCE_DIR) + "/deploy/afp_exporter.json"));
  CHECK(shipped.dump(2) == config::default_config(collectors::collector_flags()).dump(2));
  auto text = config::usage(collectors::collector_flags());
  const auto defaults = config::default_config(collectors::collector_flags());
  for (auto it = defaults.begin(); it != defaults.end(); ++it) {
    INFO(it.key());
    CHECK(text.find(it.key()) != std::string::npos);
  }
}

TEST_CASE("pg_stat_statements flags and config keys", "[config]") {
  auto defaults = parse_command_line({}).options.pg_collectors.statements;
  CHECK(defaults.limit == 100);
  CHECK(defaults.min_calls == 1);
  CHECK_FALSE(defaults.include_query);
  CHECK_FALSE(defaults.all_databases);
  CHECK(defaults.exclude_users.empty());
  auto set = parse_command_line({"--pg.statements.limit=0", "--pg.statements.min-calls", "5",
                                 "--pg.statements.include-query", "--pg.statements.all-databases",
                                 "--pg.statements.exclude-users=afp_faults,Ops Team"})
                 .options.pg_collectors.statements;
  CHECK(set.limit == 0);
  CHECK(set.min_calls == 5);
  CHECK(set.include_query);
  CHECK(set.all_databases);
  CHECK(set.exclude_users == std::vector<std::string>{"afp_faults", "Ops Team"});
  for (const char* bad : {"--pg.statements.exclude-users=a,,b", "--pg.statements.exclude-users=a,",
                          "--pg.statements.exclude-users=a\tb",
                          "--pg.statements.exclude-users="
                          "a123456789012345678901234567890123456789012345678901234567890123"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_command_line({bad}), config::ConfigError);
  }
  auto file =
      write_temp("stmt.json", R"({"pg.statements.limit": 7, "pg.statements.include-query": true})");
  auto from_file = parse_command_line({"--config.file", file, "--no-pg.statements.include-query"})
                       .options.pg_collectors.statements;
  CHECK(from_file.limit == 7);
  CHECK_FALSE(from_file.include_query);
  CHECK_THAT(error_of({"--pg.statements.limit=-1"}),
             Catch::Contains("--pg.statements.limit") && Catch::Contains("between 0 and"));
  CHECK_THAT(error_of({"--pg.statements.min-calls=many"}), Catch::Contains("an integer"));
}

TEST_CASE("durations", "[config]") {
  using std::chrono::milliseconds;
  CHECK(config::parse_duration("5s") == milliseconds(5000));
  CHECK(config::parse_duration("200ms") == milliseconds(200));
  CHECK(config::parse_duration("1m30s") == milliseconds(90000));
  CHECK(config::parse_duration("1h") == milliseconds(3600000));
  CHECK_FALSE(config::parse_duration("5"));
  CHECK_FALSE(config::parse_duration("-1s"));
  CHECK_FALSE(config::parse_duration("s"));
  CHECK(config::format_duration(milliseconds(5000)) == "5s");
  CHECK(config::format_duration(milliseconds(250)) == "250ms");
}
