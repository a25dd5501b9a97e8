#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>

#include "golden.h"
#include "pg/dsn.h"
#include "process_runner.h"

using afp::pg::DsnError;
using afp::pg::load_dsn;

namespace {

std::string temp_file(const std::string& name, const std::string& content) {
  std::string path = "/tmp/afp_dsn_test_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path) << content;
  return path;
}

std::string error_of(const char* env, const char* env_file, const std::string& option) {
  try {
    load_dsn(env, env_file, option);
  } catch (const DsnError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("DSN: environment first, then the env file, then the config file", "[pg][dsn]") {
  auto file = temp_file("a", "postgresql://afp:s3cret@db:5433/fingerprints\n");
  auto other = temp_file("b", "host=other dbname=x password=pw\n");
  CHECK_FALSE(load_dsn(nullptr, nullptr, ""));
  CHECK_FALSE(load_dsn("", "", ""));
  auto from_env = load_dsn("host=h dbname=d", file.c_str(), other);
  REQUIRE(from_env);
  CHECK(from_env->source == "AFP_PG_DSN");
  auto from_env_file = load_dsn(nullptr, file.c_str(), other);
  REQUIRE(from_env_file);
  CHECK(from_env_file->conninfo == "postgresql://afp:s3cret@db:5433/fingerprints");  // trimmed
  CHECK(from_env_file->source == "AFP_PG_DSN_FILE " + file);
  auto from_option = load_dsn(nullptr, nullptr, other);
  REQUIRE(from_option);
  CHECK(from_option->source == "pg.dsn-file " + other);
  unlink(file.c_str());
  unlink(other.c_str());
}

TEST_CASE("DSN errors name the source and never the text", "[pg][dsn]") {
  CHECK_THAT(error_of(nullptr, "/nonexistent/dsn", ""),
             Catch::Contains("AFP_PG_DSN_FILE /nonexistent/dsn") && Catch::Contains("cannot read"));
  auto empty = temp_file("empty", "\n");
  CHECK_THAT(error_of(nullptr, nullptr, empty), Catch::Contains("empty"));
  std::string bad = "host=db password=hunter2-secret bogus_option=1";
  auto message = error_of(bad.c_str(), nullptr, "");
  CHECK_THAT(message, Catch::Contains("AFP_PG_DSN") && Catch::Contains("not a valid"));
  CHECK(message.find("hunter2") == std::string::npos);
  unlink(empty.c_str());
}

TEST_CASE("DSN: a database that does not exist names the setting that chose it", "[pg][dsn]") {
  using afp::pg::database_origin;
  std::map<std::string, std::string> env;
  auto environment = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  CHECK(
      database_origin("postgresql://afp:pw@db/nope", "AFP_PG_DSN_FILE /etc/afp/dsn", environment) ==
      "dbname in the DSN from AFP_PG_DSN_FILE /etc/afp/dsn chose it: name a database that "
      "exists there, or create this one");
  CHECK(database_origin("host=db user=afp password=pw", "AFP_PG_DSN", environment) ==
        "the DSN from AFP_PG_DSN sets no dbname, so libpq took the user name: add the database "
        "to the DSN");
  env["PGDATABASE"] = "fp";
  CHECK(database_origin("postgresql://afp:pw@db", "", environment) ==
        "the DSN sets no dbname, so libpq took PGDATABASE from the environment: add the "
        "database to the DSN, or correct PGDATABASE");
  // dbname in the DSN wins over PGDATABASE, as in libpq.
  CHECK_THAT(database_origin("dbname=x password=pw", "pg.dsn-file /d", environment),
             Catch::StartsWith("dbname in the DSN from pg.dsn-file /d chose it"));
}

TEST_CASE("DSN description and scrubbing hide the password", "[pg][dsn]") {
  std::string uri = "postgresql://afp:p%40ss@db.example:5433/fingerprints";
  CHECK(afp::pg::describe(uri) == "afp@db.example:5433/fingerprints");
  CHECK(afp::pg::describe("dbname=fp user=u password=x") == "u@<default host>:5432/fp");
  CHECK(afp::pg::scrub("auth failed for p@ss (p@ss)", uri) == "auth failed for ***** (*****)");
  CHECK(afp::pg::scrub("nothing to hide", "host=h") == "nothing to hide");
}

// postgres_exporter's variables (DATA_SOURCE_NAME, DATA_SOURCE_URI + _USER + _PASS and their
// _FILE forms), read through a map instead of the process environment.
namespace {

using Env = std::map<std::string, std::string>;

afp::pg::Getenv lookup(const Env& env) {
  return [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
}

std::optional<afp::pg::Dsn> from_env(const Env& env, const std::string& option = "") {
  return afp::pg::load_dsn_from_environment(lookup(env), option);
}

std::string env_error(const Env& env, const std::string& option = "") {
  try {
    from_env(env, option);
  } catch (const DsnError& e) {
    return e.what();
  }
  return "";
}

std::string option_of(const afp::pg::Dsn& dsn, const char* key) {
  auto opts = afp::pg::parse_conninfo(dsn.conninfo);
  REQUIRE(opts);
  auto it = opts->find(key);
  return it == opts->end() ? "<unset>" : it->second;
}

}  // namespace

TEST_CASE("DSN: our own variables and file win over postgres_exporter's", "[pg][dsn]") {
  auto file = temp_file("own", "host=own-file dbname=a\n");
  const Env pe{{"DATA_SOURCE_NAME", "host=pe dbname=b"},
               {"DATA_SOURCE_URI", "pe-uri:5432/c"},
               {"DATA_SOURCE_USER", "u"},
               {"DATA_SOURCE_PASS", "p"}};
  Env env = pe;
  env["AFP_PG_DSN"] = "host=own dbname=a";
  CHECK(from_env(env, file)->source == "AFP_PG_DSN");
  env.erase("AFP_PG_DSN");
  env["AFP_PG_DSN_FILE"] = file;
  CHECK(from_env(env)->source == "AFP_PG_DSN_FILE " + file);
  CHECK(from_env(pe, file)->source == "pg.dsn-file " + file);
  // Without any of ours: DATA_SOURCE_NAME first, as postgres_exporter reads it.
  auto dsn = from_env(pe);
  REQUIRE(dsn);
  CHECK(dsn->source == "DATA_SOURCE_NAME");
  CHECK(dsn->conninfo == "host=pe dbname=b");
  CHECK_FALSE(from_env({}));
  CHECK_FALSE(from_env({{"DATA_SOURCE_NAME", ""}, {"DATA_SOURCE_URI", ""}}));  // empty = unset
  unlink(file.c_str());
}

TEST_CASE("DSN: DATA_SOURCE_URI with USER and PASS composes a URI, percent-encoded", "[pg][dsn]") {
  // Every character that means something in a URI, and one that is not ASCII.
  const std::string user = "svc@team:1/x";
  const std::string pass = "p@ss:w/rd?#%20 &=+,;$é'\"\\";
  auto dsn = from_env({{"DATA_SOURCE_URI", "db.example:5433/fingerprints?sslmode=disable"},
                       {"DATA_SOURCE_USER", user},
                       {"DATA_SOURCE_PASS", pass}});
  REQUIRE(dsn);
  CHECK(dsn->source == "DATA_SOURCE_URI + DATA_SOURCE_USER + DATA_SOURCE_PASS");
  CHECK(dsn->conninfo.starts_with("postgresql://svc%40team%3A1%2Fx:p%40ss%3Aw%2Frd%3F%23%2520"));
  CHECK(option_of(*dsn, "user") == user);
  CHECK(option_of(*dsn, "password") == pass);
  CHECK(option_of(*dsn, "host") == "db.example");
  CHECK(option_of(*dsn, "port") == "5433");
  CHECK(option_of(*dsn, "dbname") == "fingerprints");
  CHECK(option_of(*dsn, "sslmode") == "disable");
  CHECK(afp::pg::describe(dsn->conninfo) == user + "@db.example:5433/fingerprints");
  CHECK(afp::pg::scrub("auth failed: " + pass, dsn->conninfo) == "auth failed: *****");

  // No user, no password: url.UserPassword("", "") gives ":@", libpq's defaults apply.
  auto bare = from_env({{"DATA_SOURCE_URI", "localhost/postgres"}});
  REQUIRE(bare);
  CHECK(bare->conninfo == "postgresql://:@localhost/postgres");
  CHECK(bare->source == "DATA_SOURCE_URI");
  CHECK(option_of(*bare, "user") == "<unset>");
  CHECK(option_of(*bare, "password") == "<unset>");
}

TEST_CASE("DSN: a DATA_SOURCE_*_FILE wins over its variable and loses its white space",
          "[pg][dsn]") {
  auto uri = temp_file("uri", "  db:5432/fp\n");
  auto user = temp_file("user", "\tfile-user \r\n");
  auto pass = temp_file("pass", "file pass\n\n");
  auto dsn = from_env({{"DATA_SOURCE_URI", "ignored/x"},
                       {"DATA_SOURCE_URI_FILE", uri},
                       {"DATA_SOURCE_USER", "env-user"},
                       {"DATA_SOURCE_USER_FILE", user},
                       {"DATA_SOURCE_PASS", "env-pass"},
                       {"DATA_SOURCE_PASS_FILE", pass}});
  REQUIRE(dsn);
  CHECK(dsn->source == "DATA_SOURCE_URI_FILE " + uri + " + DATA_SOURCE_USER_FILE " + user +
                           " + DATA_SOURCE_PASS_FILE " + pass);
  CHECK(option_of(*dsn, "host") == "db");
  CHECK(option_of(*dsn, "user") == "file-user");
  CHECK(option_of(*dsn, "password") == "file pass");  // inner space kept, %20-encoded
  for (const auto& f : {uri, user, pass})
    unlink(f.c_str());
}

TEST_CASE("DSN: hostile postgres_exporter variables give one line naming the variable",
          "[pg][dsn]") {
  const std::string secret = "hunter2-secret";
  auto two_lines = temp_file("two_lines", secret + "\nsecond-line\n");
  auto empty = temp_file("empty_pass", " \n\t\n");
  auto check = [&](const Env& env, const std::string& names) {
    auto message = env_error(env);
    INFO(message);
    CHECK_THAT(message, Catch::Contains(names));
    CHECK(message.find(secret) == std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
  };
  const Env uri{{"DATA_SOURCE_URI", "db/fp"}};
  auto with = [&](Env env, const std::string& k, const std::string& v) {
    env[k] = v;
    return env;
  };
  check(with(uri, "DATA_SOURCE_PASS_FILE", "/nonexistent/pass"),
        "DATA_SOURCE_PASS_FILE /nonexistent/pass: cannot read the file");
  check(with(uri, "DATA_SOURCE_USER_FILE", "/nonexistent/user"),
        "DATA_SOURCE_USER_FILE /nonexistent/user: cannot read the file");
  check({{"DATA_SOURCE_URI_FILE", "/nonexistent/uri"}},
        "DATA_SOURCE_URI_FILE /nonexistent/uri: cannot read the file");
  check(with(uri, "DATA_SOURCE_PASS_FILE", two_lines),
        "DATA_SOURCE_PASS_FILE " + two_lines + ": holds a line break");
  check(with(uri, "DATA_SOURCE_PASS_FILE", empty), "DATA_SOURCE_PASS_FILE " + empty + ": ");
  check(with(uri, "DATA_SOURCE_PASS", secret + "\nx"), "DATA_SOURCE_PASS: holds a line break");
  check({{"DATA_SOURCE_USER", "u"}, {"DATA_SOURCE_PASS", secret}},
        "DATA_SOURCE_USER is set but neither DATA_SOURCE_URI nor DATA_SOURCE_URI_FILE");
  check({{"DATA_SOURCE_PASS", secret}}, "DATA_SOURCE_PASS is set but neither");
  check({{"DATA_SOURCE_NAME", "host=a password=" + secret + ",host=b"}},
        "DATA_SOURCE_NAME: holds a comma");
  check({{"DATA_SOURCE_NAME", "host=a bogus_option=1 password=" + secret}},
        "DATA_SOURCE_NAME: not a valid");
  check({{"DATA_SOURCE_URI", "db/fp?bogus_option=1"}, {"DATA_SOURCE_PASS", secret}},
        "DATA_SOURCE_URI + DATA_SOURCE_PASS: not a valid");
  unlink(two_lines.c_str());
  unlink(empty.c_str());
}

TEST_CASE("DSN: uri_encode keeps only unreserved characters", "[pg][dsn]") {
  CHECK(afp::pg::uri_encode("aZ09-._~") == "aZ09-._~");
  CHECK(afp::pg::uri_encode("a b@c:d/e%") == "a%20b%40c%3Ad%2Fe%25");
  CHECK(afp::pg::uri_encode("\xc3\xa9") == "%C3%A9");
  CHECK(afp::pg::uri_encode("") == "");
}

namespace {

// Sets (or, with nullopt, unsets) environment variables for one scope, restoring them after.
class ScopedEnvironment {
 public:
  explicit ScopedEnvironment(const std::map<std::string, std::optional<std::string>>& values) {
    for (const auto& [name, value] : values) {
      const char* old = std::getenv(name.c_str());
      saved_.emplace(name, old ? std::optional<std::string>(old) : std::nullopt);
      set(name, value);
    }
  }
  ~ScopedEnvironment() {
    for (const auto& [name, value] : saved_)
      set(name, value);
  }

 private:
  static void set(const std::string& name, const std::optional<std::string>& value) {
    if (value) {
      ::setenv(name.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name.c_str());
    }
  }
  std::map<std::string, std::optional<std::string>> saved_;
};

std::vector<std::string> exporter_args() {
  return {"--web.listen-address=127.0.0.1:0", "--path.procfs=" + afp::test::fixture("default/proc"),
          "--collector.disable-defaults", "--collector.loadavg", "--collector.postgres"};
}

}  // namespace

TEST_CASE("the exporter: an unreadable DATA_SOURCE_PASS_FILE is one line and exit 2", "[pg][dsn]") {
  using namespace std::chrono_literals;
  ScopedEnvironment env({{"AFP_PG_DSN", std::nullopt},
                         {"AFP_PG_DSN_FILE", std::nullopt},
                         {"DATA_SOURCE_NAME", std::nullopt},
                         {"DATA_SOURCE_URI", "127.0.0.1:1/fingerprints"},
                         {"DATA_SOURCE_PASS_FILE", "/nonexistent/pg-pass"}});
  afp::test::ExporterProcess p(exporter_args());
  CHECK(p.wait_exit(15s) == 2);
  auto log = p.log();
  CHECK_THAT(log, Catch::Contains("DATA_SOURCE_PASS_FILE /nonexistent/pg-pass: cannot read"));
  CHECK(std::count(log.begin(), log.end(), '\n') == 1);
}

TEST_CASE("the exporter logs which postgres_exporter variables it used, never the password",
          "[pg][dsn]") {
  const std::string secret = "Pa55:w@rd/secret";
  ScopedEnvironment env({{"AFP_PG_DSN", std::nullopt},
                         {"AFP_PG_DSN_FILE", std::nullopt},
                         {"DATA_SOURCE_NAME", std::nullopt},
                         {"DATA_SOURCE_URI", "127.0.0.1:1/fingerprints?connect_timeout=1"},
                         {"DATA_SOURCE_USER", "afp"},
                         {"DATA_SOURCE_PASS", secret}});
  afp::test::ExporterProcess p(exporter_args());
  REQUIRE(p.wait_port());
  auto log = p.log();
  CHECK_THAT(log, Catch::Contains("dsn_from=\"DATA_SOURCE_URI + DATA_SOURCE_USER + "
                                  "DATA_SOURCE_PASS\"") &&
                      Catch::Contains("target=afp@127.0.0.1:1/fingerprints"));
  CHECK(log.find(secret) == std::string::npos);
  CHECK(log.find(afp::pg::uri_encode(secret)) == std::string::npos);
}
