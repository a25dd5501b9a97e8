// --web.config.file: the exporter-toolkit format, basic auth with bcrypt, TLS.
#include "http/web_config.h"

#include <crypt.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <latch>
#include <mutex>
#include <thread>

#include "app/catalog.h"
#include "app/exporter_app.h"
#include "config/options.h"
#include "golden.h"
#include "http/basic_auth.h"
#include "http/server.h"
#include "http_client.h"
#include "process_runner.h"
#include "raw_client.h"

using namespace afp;
using namespace std::chrono_literals;

namespace {

// A fresh directory under /tmp, removed with its contents.
struct TempDir {
  std::string path;
  TempDir() {
    char name[] = "/tmp/afp_web_config_test_XXXXXX";
    REQUIRE(mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path + "/" + name; }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(file(name), std::ios::trunc) << text;
    return file(name);
  }
};

// A bcrypt hash made now, at cost 4 unless asked, so the tests stay fast.
std::string bcrypt(const std::string& password, const char* prefix = "$2b$", unsigned cost = 4) {
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> setting{};
  REQUIRE(crypt_gensalt_rn(prefix, cost, nullptr, 0, setting.data(), setting.size()) != nullptr);
  auto data = std::make_unique<crypt_data>();
  const char* hash = crypt_r(password.c_str(), setting.data(), data.get());
  REQUIRE(hash != nullptr);
  REQUIRE(hash[0] == '$');
  return hash;
}

void run(const std::string& command) {
  INFO(command);
  REQUIRE(std::system((command + " >/dev/null 2>&1").c_str()) == 0);
}

// A self-signed server certificate for localhost and 127.0.0.1: <name>.crt and <name>.key.
void make_server_cert(const TempDir& dir, const std::string& name) {
  run("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
      " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
      dir.file(name + ".key") + " -out " + dir.file(name + ".crt"));
}

const std::string kEcKey = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

// A client CA: ca.crt and ca.key.
void make_ca(const TempDir& dir) {
  run("openssl req -x509 " + kEcKey + " -days 1 -subj /CN=afp-test-ca -keyout " +
      dir.file("ca.key") + " -out " + dir.file("ca.crt"));
}

// A client certificate signed by ca.crt with one subjectAltName: <name>.crt, <name>.key.
void make_client_cert(const TempDir& dir, const std::string& name, const std::string& san) {
  auto ext = dir.write(name + ".ext", "subjectAltName=" + san + "\n");
  run("openssl req " + kEcKey + " -subj /CN=" + name + " -keyout " + dir.file(name + ".key") +
      " -out " + dir.file(name + ".csr"));
  run("openssl x509 -req -days 1 -in " + dir.file(name + ".csr") + " -CA " + dir.file("ca.crt") +
      " -CAkey " + dir.file("ca.key") + " -CAcreateserial -extfile " + ext + " -out " +
      dir.file(name + ".crt"));
}

std::string load_error(const std::string& path) {
  try {
    http::WebConfig::load(path);
  } catch (const http::ServerError& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> app_args(const std::string& web_config_file) {
  return {"--web.listen-address=127.0.0.1:0", "--path.procfs=" + test::fixture("default/proc"),
          "--collector.disable-defaults", "--collector.loadavg",
          "--web.config.file=" + web_config_file};
}

// The exporter in this process, its log lines kept for inspection.
struct RunningApp {
  std::mutex mutex;
  std::string lines;
  log::Logger log{log::Level::info, log::Format::logfmt, [this](std::string_view line) {
                    std::lock_guard lock(mutex);
                    lines += line;
                  }};
  std::vector<std::string> args;
  app::ExporterApp app;
  int port = 0;

  explicit RunningApp(const std::string& web_config_file)
      : args(app_args(web_config_file)),
        app(config::parse_command_line(args, collectors::collector_flags()).options, args, log) {
    app.start();
    port = app.ports().at(0);
  }
  ~RunningApp() { app.stop(); }
  std::string url(const std::string& scheme, const std::string& path) const {
    return scheme + "://127.0.0.1:" + std::to_string(port) + path;
  }
  std::string logged() {
    std::lock_guard lock(mutex);
    return lines;
  }
};

}  // namespace

TEST_CASE("web config: a full file loads, relative paths are relative to the file",
          "[web_config]") {
  TempDir dir;
  make_server_cert(dir, "server");
  std::filesystem::create_directory(dir.file("conf"));
  auto path = dir.write("conf/web.yml", R"(# as node_exporter would have it
tls_server_config:
  cert_file: ../server.crt
  key_file: ../server.key
  min_version: TLS12
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  prefer_server_cipher_suites: true
  curve_preferences: [X25519, CurveP256]
http_server_config:
  http2: true
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
    Content-Security-Policy: ""
basic_auth_users:
  alice: )" + bcrypt("a") + R"(
  bob: )" + bcrypt("b", "$2y$") + R"(
rate_limit:
  interval: 100ms
  burst: 10
)");
  auto web = http::WebConfig::load(path);
  CHECK(web->tls_enabled());
  CHECK(web->user_count() == 2);
  CHECK(web->headers() == std::vector<std::pair<std::string, std::string>>{
                              {"X-Frame-Options", "deny"}, {"X-Content-Type-Options", "nosniff"}});

  // The same file elsewhere cannot find the certificate, and says where it looked.
  std::filesystem::create_directories(dir.file("a/b"));
  auto moved = dir.write("a/b/web.yml", test::slurp(path));
  CHECK_THAT(load_error(moved),
             Catch::Contains("tls_server_config.cert_file \"" + dir.file("a/server.crt") +
                             "\": cannot read: No such file or directory"));
}

TEST_CASE("web config: no certificate means plain HTTP", "[web_config]") {
  TempDir dir;
  for (const char* text :
       {"", "# nothing\n", "tls_server_config:\n", "tls_server_config: {}\n",
        "tls_server_config:\n  min_version: TLS13\n", "basic_auth_users: {}\n"}) {
    INFO(text);
    auto web = http::WebConfig::load(dir.write("web.yml", text));
    CHECK_FALSE(web->tls_enabled());
    CHECK(web->user_count() == 0);
  }
}

TEST_CASE("web config: every error names the file and the key", "[web_config]") {
  TempDir dir;
  make_server_cert(dir, "server");
  make_server_cert(dir, "other");
  make_ca(dir);
  dir.write("garbage.pem", "not a certificate\n");
  std::string tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
  struct Case {
    std::string yaml;
    std::vector<std::string> expected;
  };
  std::vector<Case> cases{
      {"tls_server_config: {cert_fil: x}\n", {"unknown key \"tls_server_config.cert_fil\""}},
      {"basic_auth_user: {}\n", {"unknown key \"basic_auth_user\"", "line 1"}},
      {"http_server_config: {http3: true}\n", {"unknown key \"http_server_config.http3\""}},
      {"rate_limit: {interval: 1s, bursts: 1}\n", {"unknown key \"rate_limit.bursts\""}},
      {tls + "  min_version: [TLS12]\n",
       {"tls_server_config.min_version (line 4): expected a string, got a list"}},
      {"tls_server_config: [a]\n", {"tls_server_config", "expected a mapping"}},
      {"http_server_config: {http2: maybe}\n", {"http_server_config.http2", "true or false"}},
      {"- a\n- b\n", {"expected a YAML mapping"}},
      {"tls_server_config: {cert_file: a\n", {"not valid YAML", "line "}},
      {"tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n",
       {"tls_server_config.cert_file \"" + dir.file("missing.crt") +
        "\": cannot read: No such file or directory"}},
      {"tls_server_config:\n  cert_file: server.crt\n  key_file: missing.key\n",
       {"tls_server_config.key_file \"" + dir.file("missing.key") + "\": cannot read"}},
      {"tls_server_config:\n  cert_file: server.crt\n", {"tls_server_config.key_file: missing"}},
      {"tls_server_config:\n  key_file: server.key\n", {"tls_server_config.cert_file: missing"}},
      {"tls_server_config:\n  cert_file: garbage.pem\n  key_file: server.key\n",
       {"tls_server_config.cert_file \"" + dir.file("garbage.pem") + "\"", "no PEM certificate"}},
      {"tls_server_config:\n  cert_file: server.crt\n  key_file: garbage.pem\n",
       {"tls_server_config.key_file \"" + dir.file("garbage.pem") + "\"", "not a PEM private key"}},
      {"tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n",
       {"tls_server_config.key_file \"" + dir.file("other.key") + "\"",
        "does not match the certificate in cert_file"}},
      {tls + "  client_auth_type: RequireClientCertPlease\n",
       {"tls_server_config.client_auth_type", "\"RequireClientCertPlease\" is not one of"}},
      {tls + "  client_auth_type: RequireAndVerifyClientCert\n",
       {"tls_server_config.client_ca_file: missing"}},
      {tls + "  client_ca_file: ca.crt\n",
       {"tls_server_config.client_ca_file \"" + dir.file("ca.crt") + "\"", "NoClientCert"}},
      {tls + "  client_auth_type: RequestClientCert\n  client_allowed_sans: [a]\n",
       {"tls_server_config.client_allowed_sans", "RequireAndVerifyClientCert"}},
      // Without a verified chain a client signs its own certificate with the allowed SAN.
      {tls + "  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [a]\n",
       {"tls_server_config.client_allowed_sans", "any client can make one"}},
      {tls + "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n"
             "  client_allowed_sans: [a]\n",
       {"tls_server_config.client_allowed_sans", "may send no certificate"}},
      {tls + "  min_version: TLS14\n",
       {"tls_server_config.min_version", "\"TLS14\" is not one of"}},
      {tls + "  min_version: TLS13\n  max_version: TLS12\n",
       {"tls_server_config.min_version", "above max_version"}},
      {tls + "  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n",
       {"tls_server_config.cipher_suites", "TLS_RSA_WITH_RC4_128_SHA"}},
      {tls + "  curve_preferences: [CurveP224]\n",
       {"tls_server_config.curve_preferences", "CurveP224"}},
      {tls + "  cert: inline\n", {"tls_server_config.cert", "mutually exclusive"}},
      {"basic_auth_users:\n  alice: $6$salt$notbcrypt\n",
       {"basic_auth_users.alice (line 2): not a bcrypt hash"}},
      {"basic_auth_users:\n  alice: secret\n", {"basic_auth_users.alice", "not a bcrypt hash"}},
      {"basic_auth_users:\n  alice: [a]\n", {"basic_auth_users.alice", "expected a string"}},
      {"basic_auth_users:\n  \"a:b\": " + bcrypt("x") + "\n",
       {"basic_auth_users.a:b", "cannot contain \":\""}},
      {"http_server_config:\n  headers:\n    Server: afp\n",
       {"http_server_config.headers.Server", "cannot be configured"}},
      {"http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
       {"http_server_config.headers.X-Frame-Options", "\"allow\" is not one of \"deny\""}},
      {"http_server_config:\n  headers:\n    X-XSS-Protection: \"1\\r\\nSet-Cookie: a=b\"\n",
       {"http_server_config.headers.X-XSS-Protection", "control characters"}},
      {"rate_limit: {interval: soon}\n", {"rate_limit.interval", "duration"}},
      {"rate_limit: {interval: 1s, burst: -1}\n", {"rate_limit.burst", "non-negative integer"}},
  };
  for (const auto& c : cases) {
    INFO(c.yaml);
    auto path = dir.write("web.yml", c.yaml);
    auto error = load_error(path);
    CHECK_THAT(error, Catch::StartsWith("web config file \"" + path + "\": "));
    for (const auto& e : c.expected)
      CHECK_THAT(error, Catch::Contains(e));
  }
  CHECK_THAT(load_error(dir.file("none.yml")),
             Catch::Contains("web config file \"" + dir.file("none.yml") +
                             "\": cannot read: No such file or directory"));
  // A bad hash is named by its user, never quoted.
  auto error = load_error(dir.write("web.yml", "basic_auth_users:\n  alice: $2b$10$tooshort\n"));
  CHECK_THAT(error, Catch::Contains("basic_auth_users.alice"));
  CHECK_THAT(error, !Catch::Contains("tooshort"));
}

TEST_CASE("bcrypt: hashes made by crypt_r verify, anything else does not", "[web_config][auth]") {
  for (const char* prefix : {"$2b$", "$2y$", "$2a$"}) {
    INFO(prefix);
    auto hash = bcrypt("correct horse", prefix);
    CHECK(http::bcrypt_problem(hash).empty());
    CHECK(http::bcrypt_matches("correct horse", hash));
    CHECK_FALSE(http::bcrypt_matches("correct horse ", hash));
    CHECK_FALSE(http::bcrypt_matches("", hash));
  }
  auto hash = bcrypt(std::string("a"));
  CHECK_FALSE(http::bcrypt_matches(std::string_view("a\0b", 3), hash));  // no NUL truncation
  CHECK_THAT(http::bcrypt_problem("$6$salt$hash"), Catch::Contains("not a bcrypt hash"));
  CHECK_THAT(http::bcrypt_problem(hash.substr(0, 59)), Catch::Contains("not a bcrypt hash"));
  CHECK_THAT(http::bcrypt_problem("$2b$03$" + hash.substr(7)), Catch::Contains("cost 3"));
  CHECK_THAT(http::bcrypt_problem("$2b$04$" + std::string(52, 'a') + "!"),
             Catch::Contains("not a bcrypt hash"));
}

TEST_CASE("basic auth: credentials parsing and checking", "[web_config][auth]") {
  using Pair = std::pair<std::string, std::string>;
  CHECK(http::parse_basic_credentials("Basic YWxpY2U6c2VjcmV0") == Pair{"alice", "secret"});
  CHECK(http::parse_basic_credentials("basic YWxpY2U6c2VjcmV0") == Pair{"alice", "secret"});
  CHECK(http::parse_basic_credentials("Basic Ym9iOnB3OndpdGg6Y29sb25z") ==
        Pair{"bob", "pw:with:colons"});
  CHECK_FALSE(http::parse_basic_credentials("Bearer YWxpY2U6c2VjcmV0"));
  CHECK_FALSE(http::parse_basic_credentials("Basic YWxpY2U6c2VjcmV0="));  // bad padding
  CHECK_FALSE(http::parse_basic_credentials("Basic !!!!"));
  CHECK_FALSE(http::parse_basic_credentials("Basic YWxpY2U="));  // no colon
  CHECK_FALSE(http::parse_basic_credentials(""));

  http::BasicAuth auth({{"alice", bcrypt("secret")}});
  CHECK(auth.enabled());
  using http::AuthResult;
  CHECK_FALSE(auth.answers_at_once("Basic YWxpY2U6c2VjcmV0"));  // not remembered yet
  for (int i = 0; i < 3; ++i) {  // the first check computes, the others hit the cache
    CHECK(auth.check("Basic YWxpY2U6c2VjcmV0") == AuthResult::Allowed);
    CHECK(auth.check("Basic YWxpY2U6d3Jvbmc=") == AuthResult::Denied);  // alice:wrong
  }
  CHECK(auth.answers_at_once("Basic YWxpY2U6c2VjcmV0"));
  CHECK_FALSE(auth.answers_at_once("Basic YWxpY2U6d3Jvbmc="));
  CHECK(auth.answers_at_once("Bearer x"));  // refused without a bcrypt
  CHECK(auth.check("Basic Ym9iOnB3OndpdGg6Y29sb25z") == AuthResult::Denied);  // unknown user
  CHECK(auth.check("") == AuthResult::Denied);
  CHECK(http::BasicAuth({}).check("") == AuthResult::Allowed);  // no users: open
}

TEST_CASE(
    "basic auth: a flood of bad passwords gets Busy instead of a queue, remembered users "
    "pass at once",
    "[web_config][auth]") {
  using http::AuthResult;
  // Cost 12: each bcrypt holds its slot for a good fraction of a second.
  http::BasicAuth auth({{"alice", bcrypt("secret", "$2b$", 12)}},
                       {.slots = 1, .wait = std::chrono::milliseconds(20)});
  REQUIRE(auth.check("Basic YWxpY2U6c2VjcmV0") == AuthResult::Allowed);  // remembered now
  std::atomic<int> denied = 0, busy = 0;
  std::latch together(6);
  std::vector<std::thread> flood;
  for (int i = 0; i < 6; ++i) {
    flood.emplace_back([&] {
      together.arrive_and_wait();
      auto result = auth.check("Basic YWxpY2U6d3Jvbmc=");  // alice:wrong
      ++(result == AuthResult::Busy ? busy : denied);
      CHECK(result != AuthResult::Allowed);
    });
  }
  // While the flood holds the only slot, the remembered login needs none.
  for (int i = 0; i < 20; ++i)
    CHECK(auth.check("Basic YWxpY2U6c2VjcmV0") == AuthResult::Allowed);
  for (auto& t : flood)
    t.join();
  CHECK(denied >= 1);  // one slot: the first of them ran bcrypt...
  CHECK(busy >= 1);    // ...and those that found it taken did not wait their turn
  CHECK(denied + busy == 6);
}

TEST_CASE("basic auth on a live server: every route, 401 with WWW-Authenticate",
          "[web_config][auth][http]") {
  TempDir dir;
  auto path = dir.write("web.yml", "basic_auth_users:\n  alice: " + bcrypt("secret") +
                                       "\nhttp_server_config:\n  headers:\n"
                                       "    X-Frame-Options: deny\n");
  RunningApp r(path);
  CHECK_THAT(r.logged(),
             Catch::Contains("msg=\"web config loaded\"") && Catch::Contains("basic_auth_users=1"));
  for (const char* route : {"/metrics", "/-/healthy", "/-/ready", "/"}) {
    INFO(route);
    auto url = r.url("http", route);
    auto none = test::http_request(url);
    CHECK(none.status == 401);
    CHECK(none.headers["www-authenticate"] == "Basic");
    CHECK(none.headers["x-frame-options"] == "deny");
    CHECK(test::http_request(url, "GET", {}, {"alice:wrong"}).status == 401);
    CHECK(test::http_request(url, "GET", {}, {"mallory:secret"}).status == 401);
    CHECK(test::http_request(url, "GET", {"Authorization: Bearer secret"}).status == 401);
    auto ok = test::http_request(url, "GET", {}, {"alice:secret"});
    CHECK(ok.status == 200);
    CHECK(ok.headers.count("www-authenticate") == 0);
    CHECK(ok.headers["x-frame-options"] == "deny");
  }
  auto metrics = test::http_request(r.url("http", "/metrics"), "GET", {}, {"alice:secret"});
  CHECK(metrics.body.find("node_load1 0.21\n") != std::string::npos);
  CHECK(test::http_request(r.url("http", "/nope"), "GET", {}, {"alice:secret"}).status == 404);
  CHECK(test::http_request(r.url("http", "/nope")).status == 401);
  CHECK(test::http_request(r.url("http", "/metrics"), "HEAD", {}, {"alice:secret"}).status == 200);
  CHECK_THAT(r.logged(), !Catch::Contains("secret"));
}

TEST_CASE("a flood of bad passwords does not hold up a remembered user",
          "[web_config][auth][http][limits]") {
  TempDir dir;
  // Cost 12: a quarter of a second or more per bcrypt, so the flood is a real load.
  RunningApp r(
      dir.write("web.yml", "basic_auth_users:\n  alice: " + bcrypt("secret", "$2b$", 12) + "\n"));
  test::RequestOptions alice{"alice:secret"};
  alice.timeout_seconds = 10;
  REQUIRE(test::http_request(r.url("http", "/metrics"), "GET", {}, alice).status == 200);
  // More flooding clients than the server has workers, each always with a request out.
  std::atomic<bool> flooding = true;
  std::atomic<int> refused = 0;
  std::vector<std::thread> flood;
  for (int i = 0; i < 120; ++i) {
    flood.emplace_back([&] {
      test::RequestOptions mallory{"alice:wrong"};
      mallory.timeout_seconds = 30;
      while (flooding) {
        auto status = test::http_request(r.url("http", "/metrics"), "GET", {}, mallory).status;
        if (status == 401 || status == 503) ++refused;
      }
    });
  }
  std::this_thread::sleep_for(1s);  // the flood under way
  for (int i = 0; i < 3; ++i) {
    for (const char* path : {"/metrics", "/-/healthy"}) {
      INFO(path);
      auto res = test::http_request(r.url("http", path), "GET", {}, alice);
      INFO(res.error);
      CHECK(res.status == 200);
    }
  }
  flooding = false;
  for (auto& t : flood)
    t.join();
  CHECK(refused > 0);
}

TEST_CASE("basic auth leaves the ingest route to its own bearer token",
          "[web_config][auth][http][ingest]") {
  TempDir dir;
  auto path = dir.write("web.yml", "basic_auth_users:\n  alice: " + bcrypt("secret") + "\n");
  RunningApp r(path);
  test::RequestOptions push;
  push.body = R"({"observations": [{"metric": "fingerprint_generation", "seconds": 1}]})";
  auto url = r.url("http", "/api/v1/observations");
  // An app holds a bearer token, not the scrape user's password: basic auth does not apply.
  CHECK(test::http_request(url, "POST", {"Content-Type: application/json"}, push).status == 200);
  CHECK(test::http_request(r.url("http", "/metrics")).status == 401);
  CHECK_THAT(r.logged(), Catch::Contains("auth=\"loopback peers only\""));
}

TEST_CASE("rate_limit answers 429 once the burst is spent", "[web_config][http]") {
  TempDir dir;
  RunningApp r(dir.write("web.yml", "rate_limit:\n  interval: 1h\n  burst: 2\n"));
  CHECK(test::http_request(r.url("http", "/-/healthy")).status == 200);
  CHECK(test::http_request(r.url("http", "/-/healthy")).status == 200);
  CHECK(test::http_request(r.url("http", "/-/healthy")).status == 429);
}

TEST_CASE("TLS: https with the configured certificate, plain http is refused",
          "[web_config][tls][http]") {
  TempDir dir;
  make_server_cert(dir, "server");
  auto path = dir.write("web.yml",
                        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                        "basic_auth_users:\n  alice: " +
                            bcrypt("secret") + "\n");
  RunningApp r(path);
  CHECK_THAT(r.logged(), Catch::Contains("tls=true"));
  test::RequestOptions trusted{"alice:secret", dir.file("server.crt")};
  auto res = test::http_request(r.url("https", "/metrics"), "GET", {}, trusted);
  INFO(res.error);
  CHECK(res.status == 200);
  CHECK(res.body.find("node_load1 0.21\n") != std::string::npos);
  CHECK(test::http_request(r.url("https", "/-/healthy"), "GET", {}, {"", trusted.ca_file}).status ==
        401);
  // http:// to the https:// port: an answer the client can show, not an empty reply.
  auto plain = test::http_request(r.url("http", "/metrics"), "GET", {}, {"alice:secret"});
  CHECK(plain.status == 400);
  CHECK(plain.body == "this port speaks TLS: use https://\n");
  auto untrusted = test::http_request(r.url("https", "/metrics"), "GET", {}, {"alice:secret"});
  CHECK(untrusted.status == 0);  // a real certificate check: the self-signed one is unknown
}

TEST_CASE("TLS: what is not a TLS handshake gets one plain 400 and the connection closes",
          "[web_config][tls][http]") {
  TempDir dir;
  make_server_cert(dir, "server");
  RunningApp r(dir.write("web.yml",
                         "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"));
  const std::string answer =
      "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Length: 35\r\nConnection: close\r\n\r\nthis port speaks TLS: use https://\n";
  for (const std::string& input :
       {std::string("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), std::string("\0", 1),
        std::string(64 * 1024, 'A'),                     // far more than is read before the answer
        std::string("\x15\x03\x03\x00\x02\x02\x28")}) {  // a TLS alert, not a handshake
    INFO(input.substr(0, 16));
    test::RawConnection c(r.port);
    REQUIRE(c.connected());
    c.send(input);  // may fail part-way once the server has answered and closed
    CHECK(c.receive(5s) == answer);
    CHECK(c.closed_within(5s));
  }
  // A client that connects and says nothing is closed by the head timeout, as before; one
  // that sends a handshake still gets TLS.
  auto res =
      test::http_request(r.url("https", "/-/healthy"), "GET", {}, {"", dir.file("server.crt")});
  INFO(res.error);
  CHECK(res.status == 200);
}

TEST_CASE("TLS: min_version TLS13 turns a TLS 1.2 client away", "[web_config][tls][http]") {
  TempDir dir;
  make_server_cert(dir, "server");
  RunningApp r(dir.write("web.yml",
                         "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                         "  min_version: TLS13\n"));
  test::RequestOptions tls13{"", dir.file("server.crt")};
  CHECK(test::http_request(r.url("https", "/-/healthy"), "GET", {}, tls13).status == 200);
  auto tls12 = tls13;
  long tls12_only = CURL_SSLVERSION_TLSv1_2;
  tls12.tls_version = tls12_only | (tls12_only << 16);  // | CURL_SSLVERSION_MAX_TLSv1_2
  CHECK(test::http_request(r.url("https", "/-/healthy"), "GET", {}, tls12).status == 0);
}

TEST_CASE("TLS: RequireAndVerifyClientCert wants a certificate from client_ca_file",
          "[web_config][tls][http]") {
  TempDir dir;
  make_server_cert(dir, "server");
  make_ca(dir);
  make_client_cert(dir, "good", "DNS:good.example");
  make_client_cert(dir, "other", "DNS:other.example");
  run("openssl req -x509 " + kEcKey + " -days 1 -subj /CN=stranger -keyout " +
      dir.file("stranger.key") + " -out " + dir.file("stranger.crt"));
  std::string tls =
      "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
      "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n";
  auto client = [&](const std::string& name) {
    test::RequestOptions o{"", dir.file("server.crt")};
    if (!name.empty()) {
      o.client_cert = dir.file(name + ".crt");
      o.client_key = dir.file(name + ".key");
    }
    return o;
  };
  {
    RunningApp r(dir.write("web.yml", tls));
    auto url = r.url("https", "/-/healthy");
    CHECK(test::http_request(url, "GET", {}, client("")).status == 0);
    CHECK(test::http_request(url, "GET", {}, client("stranger")).status == 0);
    CHECK(test::http_request(url, "GET", {}, client("good")).status == 200);
    CHECK(test::http_request(url, "GET", {}, client("other")).status == 200);
  }
  {
    RunningApp r(dir.write("web.yml", tls + "  client_allowed_sans: [good.example]\n"));
    auto url = r.url("https", "/-/healthy");
    CHECK(test::http_request(url, "GET", {}, client("good")).status == 200);
    CHECK(test::http_request(url, "GET", {}, client("other")).status == 0);
    CHECK(test::http_request(url, "GET", {}, client("")).status == 0);
  }
}

TEST_CASE("reload: new users and certificates apply live, a bad file keeps the old one",
          "[web_config][tls][http][concurrency]") {
  TempDir dir;
  make_server_cert(dir, "one");
  make_server_cert(dir, "two");
  auto file = [&](const std::string& cert, const std::string& user) {
    return "tls_server_config:\n  cert_file: " + cert + ".crt\n  key_file: " + cert +
           ".key\nbasic_auth_users:\n  " + user + ": " + bcrypt(user + "-pw") + "\n";
  };
  auto path = dir.write("web.yml", file("one", "alice"));
  RunningApp r(path);
  auto get = [&](const std::string& cert, const std::string& user) {
    return test::http_request(r.url("https", "/metrics"), "GET", {},
                              {user + ":" + user + "-pw", dir.file(cert + ".crt")})
        .status;
  };
  CHECK(get("one", "alice") == 200);
  CHECK(get("one", "bob") == 401);

  dir.write("web.yml", file("two", "bob"));
  r.app.reload();
  CHECK(get("two", "bob") == 200);
  CHECK(get("two", "alice") == 401);
  CHECK(get("one", "bob") == 0);  // the new certificate, without a restart

  dir.write("web.yml", file("one", "carol") + "bogus: 1\n");
  r.app.reload();
  CHECK_THAT(r.logged(), Catch::Contains("reload failed") && Catch::Contains("bogus"));
  CHECK(get("two", "bob") == 200);
  CHECK(get("one", "carol") == 0);

  dir.write("web.yml", "basic_auth_users:\n  dave: " + bcrypt("dave-pw") + "\n");
  r.app.reload();
  CHECK_THAT(r.logged(), Catch::Contains("turning TLS on or off"));
  CHECK(get("two", "dave") == 200);  // still TLS, with the new users
  CHECK(get("two", "bob") == 401);
}

TEST_CASE("a bad web config file: exit code 2, one line naming the key", "[web_config][signals]") {
  TempDir dir;
  struct Case {
    std::string file;
    std::string message;
  };
  std::vector<Case> cases{
      {dir.write("web.yml", "tls_server_config:\n  cert_fil: server.crt\n"),
       "unknown key \"tls_server_config.cert_fil\""},
      {dir.file("missing.yml"), "\"" + dir.file("missing.yml") + "\": cannot read"},
      {dir.write("hash.yml", "basic_auth_users:\n  alice: plaintext\n"),
       "basic_auth_users.alice (line 2): not a bcrypt hash"},
  };
  for (const auto& c : cases) {
    test::ExporterProcess p(app_args(c.file));
    CHECK(p.wait_exit(15s) == 2);
    auto log = p.log();
    CHECK_THAT(log, Catch::StartsWith("afp_exporter: web config file \""));
    CHECK_THAT(log, Catch::Contains(c.message));
    CHECK(std::count(log.begin(), log.end(), '\n') == 1);
  }
}

TEST_CASE("the exporter binary serves HTTPS and stops cleanly", "[web_config][tls][signals]") {
  // The binary itself, not only this test program, serves HTTPS and stops on SIGTERM.
  TempDir dir;
  make_server_cert(dir, "server");
  test::ExporterProcess p(app_args(dir.write(
      "web.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")));
  auto port = p.wait_port();
  REQUIRE(port);
  auto url = "https://127.0.0.1:" + std::to_string(*port) + "/metrics";
  for (int i = 0; i < 3; ++i) {
    auto res = test::http_request(url, "GET", {}, {"", dir.file("server.crt")});
    INFO(res.error);
    CHECK(res.status == 200);
    CHECK(res.body.find("node_load1 0.21\n") != std::string::npos);
  }
  p.signal(SIGTERM);
  CHECK(p.wait_exit(15s) == 0);
}
