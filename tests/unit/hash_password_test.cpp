// `afp_exporter web hash-password`: the hash it prints logs a user in to the real exporter,
// and every bad input is one line and exit 2.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>

#include "golden.h"
#include "http/basic_auth.h"
#include "http_client.h"
#include "process_runner.h"

using namespace afp;
using namespace std::chrono_literals;

namespace {

test::Finished hash_password(const std::string& input, std::vector<std::string> flags = {}) {
  flags.insert(flags.begin(), {"web", "hash-password"});
  return test::run_exporter(flags, input);
}

// The hash printed for a good password: alone on stdout, nothing on stderr.
std::string hash_of(const std::string& input, std::vector<std::string> flags = {}) {
  auto run = hash_password(input, std::move(flags));
  INFO(run.err);
  REQUIRE(run.code == 0);
  CHECK(run.err.empty());
  REQUIRE(run.out.ends_with("\n"));
  return run.out.substr(0, run.out.size() - 1);
}

struct WebConfigFile {
  std::string path = "/tmp/afp_hash_password_test_" + std::to_string(getpid()) + ".yml";
  explicit WebConfigFile(const std::string& hash) {
    std::ofstream(path) << "basic_auth_users:\n  prometheus: " << hash << "\n";
  }
  ~WebConfigFile() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE(
    "web hash-password: the hash it prints logs in to the exporter, another password "
    "does not",
    "[web_config][auth][hash_password]") {
  const std::string password = "Tr0ub4dor & 3, with spaces";
  auto hash = hash_of(password + "\n");
  CHECK(std::regex_match(hash, std::regex(R"(\$2b\$10\$[./A-Za-z0-9]{53})")));  // cost 10
  CHECK(http::bcrypt_problem(hash).empty());

  WebConfigFile config(hash);
  test::ExporterProcess exporter(
      {"--web.listen-address=127.0.0.1:0", "--path.procfs=" + test::fixture("default/proc"),
       "--collector.disable-defaults", "--collector.loadavg", "--web.config.file=" + config.path});
  auto port = exporter.wait_port();
  REQUIRE(port);
  auto url = "http://127.0.0.1:" + std::to_string(*port) + "/metrics";
  auto good = test::http_request(url, "GET", {}, {"prometheus:" + password});
  CHECK(good.status == 200);
  CHECK_THAT(good.body, Catch::Contains("node_load1 "));
  CHECK(test::http_request(url, "GET", {}, {"prometheus:" + password + "x"}).status == 401);
  CHECK(test::http_request(url, "GET", {}, {"prometheus:"}).status == 401);
}

TEST_CASE("web hash-password: the line ending is not part of the password, salts differ",
          "[web_config][auth][hash_password]") {
  auto bare = hash_of("pw", {"--cost", "4"});  // echo -n
  auto crlf = hash_of("pw\r\n", {"--cost=4"});
  CHECK(bare.starts_with("$2b$04$"));
  CHECK(http::bcrypt_matches("pw", bare));
  CHECK(http::bcrypt_matches("pw", crlf));
  CHECK_FALSE(http::bcrypt_matches("pw\n", bare));
  CHECK(bare != crlf);  // a fresh random salt each time
  auto longest = std::string(http::kBcryptMaxPasswordBytes, 'p');
  CHECK(http::bcrypt_matches(longest, hash_of(longest, {"--cost", "4"})));
}

TEST_CASE("web hash-password: bad input is one line naming it, exit 2, nothing on stdout",
          "[web_config][auth][hash_password]") {
  const std::string prefix = "afp_exporter web hash-password: ";
  struct Row {
    std::string input;
    std::vector<std::string> flags;
    std::string message;
  };
  const std::string empty =
      "the password on standard input is empty: give it alone on one line, e.g. "
      "afp_exporter web hash-password < password-file";
  const std::string too_long =
      "the password is longer than 72 bytes, all that bcrypt reads of it: choose a shorter one";
  const std::string bad_cost = "--cost takes a whole number from 4 to 31";
  auto row = GENERATE_COPY(values<Row>({
      {"", {}, prefix + empty},
      {"\n", {}, prefix + empty},
      {"\r\n", {}, prefix + empty},
      {"one\ntwo\n",
       {},
       prefix + "standard input holds more than one line: give the password "
                "alone on one line"},
      {std::string("a\0b", 3),
       {},
       prefix + "the password holds a NUL byte, which a login can "
                "never match"},
      {std::string(73, 'p') + "\n", {}, prefix + too_long},
      {std::string(1 << 20, 'p'), {}, prefix + too_long},  // read no further than needed
      {"pw\n", {"--cost", "3"}, prefix + bad_cost},
      {"pw\n", {"--cost=32"}, prefix + bad_cost},
      {"pw\n", {"--cost", "ten"}, prefix + bad_cost},
      {"pw\n", {"--cost"}, prefix + bad_cost},
      {"pw\n",
       {"--rounds", "10"},
       prefix + "unknown flag \"--rounds\" (the only one is --cost N; "
                "see --help)"},
  }));
  INFO(row.input.substr(0, 20));
  auto run = hash_password(row.input, row.flags);
  CHECK(run.code == 2);
  CHECK(run.out.empty());
  CHECK(run.err == row.message + "\n");
}

TEST_CASE("web: a missing or unknown command is one line and exit 2, --help exits 0",
          "[web_config][hash_password]") {
  auto none = test::run_exporter({"web"}, "");
  CHECK(none.code == 2);
  CHECK(none.err ==
        "afp_exporter web: a command is needed: the only one is hash-password (see afp_exporter "
        "web --help)\n");
  auto unknown = test::run_exporter({"web", "hash"}, "pw\n");
  CHECK(unknown.code == 2);
  CHECK(unknown.err ==
        "afp_exporter web: unknown command \"hash\": the only one is hash-password (see "
        "afp_exporter web --help)\n");
  auto help = test::run_exporter({"web", "hash-password", "--help"}, "");
  CHECK(help.code == 0);
  CHECK_THAT(help.out, Catch::StartsWith("usage: afp_exporter web hash-password [--cost N]"));
}

TEST_CASE("README: the basic-auth example's hash is of the password the README gives",
          "[web_config][hash_password]") {
  auto readme = test::slurp(std::string(AFP_SOURCE_DIR) + "/README.md");
  std::smatch hash;
  REQUIRE(
      std::regex_search(readme, hash, std::regex(R"(  prometheus: (\$2[aby]\$\d\d\$\S{53})\n)")));
  std::smatch password;
  REQUIRE(std::regex_search(
      readme, password,
      std::regex(
          R"(the\s+password\s+`([^`]+)`\s+in\s+`/etc/prometheus/secrets/afp_exporter_password`)")));
  CHECK(http::bcrypt_matches(password[1].str(), hash[1].str()));
  CHECK_THAT(readme,
             Catch::Contains(
                 "afp_exporter web hash-password < /etc/prometheus/secrets/afp_exporter_password"));
  CHECK_THAT(readme, !Catch::Contains("htpasswd"));
}
