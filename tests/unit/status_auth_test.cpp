// `afp_exporter status` against a real exporter with a --web.config.file: TLS with a
// self-signed certificate and basic auth, as the README sets one up.
#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "app/catalog.h"
#include "app/exporter_app.h"
#include "cli/status.h"
#include "config/options.h"
#include "tls_files.h"

using afp::cli::run_status;
using afp::test::TlsTempDir;

namespace {

const std::string kUser = "prometheus";
const std::string kPassword = "s3cret-Pass";
const std::string kWrongPassword = "not-the-Pass";

// The exporter in this process with TLS and basic auth on two loopback addresses; its
// certificate names only the first (IP:127.0.0.1). A DSN to a closed port gives it a
// PostgreSQL row (down) without a server.
class SecuredExporter {
 public:
  // every_collector: the host collectors too, for an exposition of several TLS records.
  explicit SecuredExporter(bool every_collector = false) {
    afp::test::make_self_signed_cert(dir_, "server", "IP:127.0.0.1");
    dir_.write("web.yml",
               "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
               "basic_auth_users:\n  " +
                   kUser + ": " + afp::test::bcrypt_hash(kPassword) + "\n");
    dir_.write("dsn", "host=127.0.0.1 port=1 dbname=afp connect_timeout=2\n");
    dir_.write("afp.pass", kPassword + "\n");
    dir_.write("wrong.pass", kWrongPassword + "\n");
    args_ = {"--web.listen-address=127.0.0.1:0", "--web.listen-address=127.0.0.2:0",
             "--web.config.file=" + dir_.file("web.yml")};
    if (!every_collector) {
      args_.insert(args_.end(), {"--collector.disable-defaults", "--collector.pipeline"});
    }
    args_.insert(args_.end(), {"--collector.postgres", "--pg.dsn-file=" + dir_.file("dsn")});
    app_ = std::make_unique<afp::app::ExporterApp>(
        afp::config::parse_command_line(args_, afp::collectors::collector_flags()).options, args_,
        log_);
    app_->start();
  }
  ~SecuredExporter() { app_->stop(); }

  std::string url() const { return url_at("127.0.0.1", 0); }
  // The second address: one the certificate does not hold.
  std::string unnamed_url() const { return url_at("127.0.0.2", 1); }
  std::string file(const std::string& name) const { return dir_.file(name); }

  // status's flags for this exporter: --url, the CA, and the credentials.
  std::vector<std::string> flags(const std::string& password_file = "afp.pass") const {
    return {"--url",
            url(),
            "--tls.ca-file",
            file("server.crt"),
            "--basic-auth.username",
            kUser,
            "--basic-auth.password-file",
            file(password_file),
            "--interval",
            "10ms"};
  }

 private:
  std::string url_at(const std::string& host, std::size_t i) const {
    return "https://" + host + ":" + std::to_string(app_->ports().at(i)) + "/metrics";
  }

  TlsTempDir dir_;
  afp::log::Logger log_{afp::log::Level::error};
  std::vector<std::string> args_;
  std::unique_ptr<afp::app::ExporterApp> app_;
};

struct Run {
  int code = 0;
  std::string out, err;
};

Run status(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  Run run;
  run.code = run_status(args, out, err);
  run.out = out.str();
  run.err = err.str();
  return run;
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// A failed read: exit 2, nothing on stdout, one line on stderr that never holds a password
// and never falls back to the local collectors.
void check_refused(const Run& run) {
  INFO("out: " << run.out);
  INFO("err: " << run.err);
  CHECK(run.code == 2);
  CHECK(run.out.empty());
  CHECK(std::count(run.err.begin(), run.err.end(), '\n') == 1);
  CHECK(run.err.find("collecting locally") == std::string::npos);
  CHECK(run.err.find(kPassword) == std::string::npos);
  CHECK(run.err.find(kWrongPassword) == std::string::npos);
}

std::set<std::string> check_names(const std::string& json) {
  std::set<std::string> names;
  auto doc = nlohmann::json::parse(json);
  for (const auto& c : doc["checks"])
    names.insert(c["name"].get<std::string>());
  return names;
}

}  // namespace

TEST_CASE("status: the right credentials and CA read the exporter's own rows", "[status][tls]") {
  SecuredExporter exporter;
  auto run = status(with(exporter.flags(), {"--json"}));
  INFO("out: " << run.out);
  INFO("err: " << run.err);
  CHECK(run.err.empty());
  auto doc = nlohmann::json::parse(run.out);
  CHECK(doc["source"] == exporter.url());
  auto names = check_names(run.out);
  // Rows that only the exporter has: the pipeline's and PostgreSQL's (down: nothing at
  // port 1), which the local collectors never give.
  CHECK(names.count("fingerprint_generation_p95") == 1);
  CHECK(names.count("identification_error_ratio") == 1);
  CHECK(names.count("pg_up") == 1);
  CHECK(run.code == 1);  // PostgreSQL down is critical
}

TEST_CASE("status: a 401 names the credential flags, with no local fallback", "[status][tls]") {
  SecuredExporter exporter;
  auto anonymous = status({"--url", exporter.url(), "--tls.ca-file", exporter.file("server.crt")});
  check_refused(anonymous);
  CHECK(anonymous.err == "status: " + exporter.url() +
                             " answered 401 Unauthorized: give --basic-auth.username and "
                             "--basic-auth.password-file\n");

  auto wrong = status(exporter.flags("wrong.pass"));
  check_refused(wrong);
  CHECK(wrong.err == "status: " + exporter.url() +
                         " answered 401 Unauthorized: it refused user \"" + kUser +
                         "\" with the password in " + exporter.file("wrong.pass") +
                         "; check --basic-auth.username and --basic-auth.password-file\n");
}

TEST_CASE("status: a certificate that fails the check is an error naming the flags",
          "[status][tls]") {
  SecuredExporter exporter;
  auto flags = exporter.flags();
  SECTION("self-signed, no --tls.ca-file: the system's CAs do not know it") {
    flags.erase(flags.begin() + 2, flags.begin() + 4);
    auto run = status(flags);
    check_refused(run);
    CHECK(run.err == "status: " + exporter.url() +
                         ": certificate verify failed (self-signed certificate): give "
                         "--tls.ca-file, or --tls.insecure-skip-verify\n");
  }
  SECTION("another CA in --tls.ca-file") {
    TlsTempDir other;
    afp::test::make_self_signed_cert(other, "other", "IP:127.0.0.1");
    flags[3] = other.file("other.crt");
    auto run = status(flags);
    check_refused(run);
    CHECK(run.err.find(": certificate verify failed (self-signed certificate): --tls.ca-file " +
                       other.file("other.crt") + " does not hold the CA that signed it") !=
          std::string::npos);
  }
  SECTION("an address the certificate does not hold") {
    flags[1] = exporter.unnamed_url();
    auto run = status(flags);
    check_refused(run);
    CHECK(run.err == "status: " + exporter.unnamed_url() +
                         ": certificate verify failed (IP address mismatch): put a name the "
                         "certificate holds in --url, or give --tls.insecure-skip-verify\n");
  }
}

TEST_CASE("status: --tls.insecure-skip-verify reads it and says so once", "[status][tls]") {
  SecuredExporter exporter;
  auto flags = exporter.flags();
  flags.erase(flags.begin() + 2, flags.begin() + 4);
  flags[1] = exporter.unnamed_url();  // neither the CA nor the name is checked
  auto run = status(with(flags, {"--tls.insecure-skip-verify", "--json"}));
  INFO("out: " << run.out);
  CHECK(run.err == "status: --tls.insecure-skip-verify: " + exporter.unnamed_url() +
                       " is read without checking its certificate\n");
  CHECK(nlohmann::json::parse(run.out)["source"] == exporter.unnamed_url());
  CHECK(check_names(run.out).count("pg_up") == 1);
  CHECK(run.code == 1);
}

TEST_CASE("status: plain http:// to a TLS exporter says to use https://", "[status][tls]") {
  SecuredExporter exporter;
  auto url = exporter.url().replace(0, 5, "http");
  auto run = status({"--url", url, "--timeout", "5s"});
  check_refused(run);
  // The exporter's TLS listener answers a plain request with a 400.
  CHECK(run.err == "status: " + url +
                       " answered 400 Bad Request (if the exporter has a tls_server_config, use "
                       "https://)\n");
}

TEST_CASE("status: credentials in the URL are refused without showing them", "[status][tls]") {
  auto run = status({"--url", "https://" + kUser + ":" + kPassword + "@127.0.0.1:9793/metrics"});
  check_refused(run);
  CHECK(run.err ==
        "status: --url: no user name or password in the URL (a command line is visible in ps): "
        "give --basic-auth.username and --basic-auth.password-file\n");
}

TEST_CASE("status: unusable TLS and credential flags exit 2 with one line", "[status][tls]") {
  TlsTempDir dir;
  dir.write("empty.pass", "\n");
  dir.write("garbage.crt", "not a certificate\n");
  const std::string tls_url = "https://127.0.0.1:1/metrics";
  struct Case {
    std::vector<std::string> args;
    std::string line;
  };
  auto missing = dir.file("missing");
  std::vector<Case> cases{
      {{"--url", tls_url, "--basic-auth.username", kUser},
       "status: --basic-auth.username and --basic-auth.password-file go together: give both\n"},
      {{"--url", tls_url, "--basic-auth.password-file", dir.file("empty.pass")},
       "status: --basic-auth.username and --basic-auth.password-file go together: give both\n"},
      {{"--url", tls_url, "--basic-auth.username", "a:b", "--basic-auth.password-file",
        dir.file("empty.pass")},
       "status: --basic-auth.username: a user name cannot hold ':' (RFC 7617), spaces or "
       "control characters\n"},
      {{"--url", tls_url, "--tls.ca-file", missing, "--tls.insecure-skip-verify"},
       "status: --tls.ca-file and --tls.insecure-skip-verify contradict each other: give one\n"},
      {{"--tls.insecure-skip-verify"},
       "status: --tls.* flags apply to https:// URLs only, not to " +
           std::string(afp::cli::kDefaultStatusUrl) + "\n"},
      {{"--url", tls_url, "--tls.insecure-skip-verify=yes"},
       "status: flag --tls.insecure-skip-verify takes no value\n"},
      {{"--url", tls_url, "--tls.ca-file", missing},
       "status: --tls.ca-file: CA file \"" + missing +
           "\": cannot read it: No such file or directory\n"},
      {{"--url", "https://[::1/metrics"},
       "status: --url: URL \"https://[::1/metrics\": unclosed [ around an IPv6 address\n"},
  };
  for (const auto& c : cases) {
    auto run = status(c.args);
    check_refused(run);
    CHECK(run.err == c.line);
  }
  // The secret-file rules' own words follow the file's name.
  for (const auto& file : {missing, dir.file("empty.pass")}) {
    auto run = status(
        {"--url", tls_url, "--basic-auth.username", kUser, "--basic-auth.password-file", file});
    check_refused(run);
    CHECK(run.err.rfind("status: --basic-auth.password-file " + file + ": ", 0) == 0);
  }
  auto garbage = status({"--url", tls_url, "--tls.ca-file", dir.file("garbage.crt")});
  check_refused(garbage);
  CHECK(garbage.err.rfind("status: --tls.ca-file: CA file \"" + dir.file("garbage.crt") +
                              "\": no PEM certificate OpenSSL accepts (",
                          0) == 0);
}

// A scrape larger than one TLS record (16 kB) without gzip, as status asks for it: the
// server once wrote the head and dropped the body ("stream truncated").
TEST_CASE("status: reads a TLS exporter whose exposition spans many TLS records", "[status][tls]") {
  SecuredExporter exporter(true);
  auto run = status(with(exporter.flags(), {"--json"}));
  INFO("err: " << run.err);
  REQUIRE(run.code != 2);
  auto doc = nlohmann::json::parse(run.out);
  CHECK(doc["source"] == exporter.url());
  for (const auto& check : doc["checks"]) {
    if (check["name"] == "memory_used") CHECK(check["state"] != "n/a");
  }
}
