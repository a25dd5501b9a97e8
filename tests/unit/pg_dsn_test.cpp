#include <unistd.h>

#include <fstream>

#include "golden.h"
#include "pg/dsn.h"

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

TEST_CASE("DSN description and scrubbing hide the password", "[pg][dsn]") {
  std::string uri = "postgresql://afp:p%40ss@db.example:5433/fingerprints";
  CHECK(afp::pg::describe(uri) == "afp@db.example:5433/fingerprints");
  CHECK(afp::pg::describe("dbname=fp user=u password=x") == "u@<default host>:5432/fp");
  CHECK(afp::pg::scrub("auth failed for p@ss (p@ss)", uri) == "auth failed for ***** (*****)");
  CHECK(afp::pg::scrub("nothing to hide", "host=h") == "nothing to hide");
}
