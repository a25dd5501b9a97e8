#include "websec/web_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <set>

#include "core/ascii.h"
#include "core/text_file.h"
#include "http/basic_auth.h"
#include "websec/tls_context.h"

namespace afp::websec {

using http::AuthResult;
using http::BasicAuth;
using http::Request;
using http::Response;
using http::ServerError;
using http::TlsServerConfig;

namespace {

using Known = std::initializer_list<std::string_view>;

struct AllowedHeader {
  std::string_view name;
  std::vector<std::string_view> values;  // empty: any value
};

// The headers exporter-toolkit lets http_server_config.headers set, with its value checks.
const std::array<AllowedHeader, 5>& allowed_headers() {
  static const std::array<AllowedHeader, 5> headers = {{
      {"Content-Security-Policy", {}},
      {"Strict-Transport-Security", {}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-XSS-Protection", {}},
  }};
  return headers;
}

// Go's time.ParseDuration, which exporter-toolkit's YAML uses: "1s", "100ms", "1m30s", "0".
std::optional<std::chrono::nanoseconds> parse_go_duration(std::string_view text) {
  if (text == "0") return std::chrono::nanoseconds(0);
  if (text.empty()) return std::nullopt;
  struct Unit {
    std::string_view name;
    double ns;
  };
  static constexpr std::array<Unit, 8> kUnits = {{{"ns", 1},
                                                  {"us", 1e3},
                                                  {"\xc2\xb5s", 1e3},  // µs, micro sign
                                                  {"\xce\xbcs", 1e3},  // μs, Greek mu
                                                  {"ms", 1e6},
                                                  {"s", 1e9},
                                                  {"m", 60e9},
                                                  {"h", 3600e9}}};
  double total = 0;
  while (!text.empty()) {
    std::size_t digits = 0;
    while (digits < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.')) {
      ++digits;
    }
    double value = 0;
    auto res = std::from_chars(text.data(), text.data() + digits, value);
    if (digits == 0 || res.ec != std::errc() || res.ptr != text.data() + digits) {
      return std::nullopt;
    }
    text.remove_prefix(digits);
    std::size_t unit_length = 0;
    while (unit_length < text.size() &&
           !std::isdigit(static_cast<unsigned char>(text[unit_length])) &&
           text[unit_length] != '.') {
      ++unit_length;
    }
    auto unit = std::find_if(kUnits.begin(), kUnits.end(),
                             [&](const Unit& u) { return u.name == text.substr(0, unit_length); });
    if (unit == kUnits.end()) return std::nullopt;
    text.remove_prefix(unit_length);
    total += value * unit->ns;
  }
  if (total > 9e18) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<long long>(total));
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return "\"" + node.Scalar() + "\"";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "nothing";
  }
}

// Typed access to the YAML tree; every error names the file, the dotted key and the line.
class Reader {
 public:
  Reader(std::string where, std::filesystem::path dir)
      : where_(std::move(where)), dir_(std::move(dir)) {}

  [[noreturn]] void fail(const std::string& key, const YAML::Node& node,
                         const std::string& problem) const {
    std::string at;
    if (node.IsDefined() && !node.Mark().is_null()) {
      at = " (line " + std::to_string(node.Mark().line + 1) + ")";
    }
    throw ServerError(where_ + ": " + key + at + ": " + problem);
  }

  // Calls visit(name, value, dotted key) for each non-null entry of a mapping; `known`
  // lists the names allowed (nullptr: any). Unknown and repeated names are errors.
  template <typename Visit>
  void entries(const YAML::Node& node, const std::string& key, const Known* known,
               Visit visit) const {
    if (!node.IsMap()) fail(key, node, "expected a mapping, got " + describe(node));
    std::set<std::string> seen;
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) fail(key, entry.first, "keys must be strings");
      const std::string& name = entry.first.Scalar();
      std::string dotted = key.empty() ? name : key + "." + name;
      if (known && std::find(known->begin(), known->end(), name) == known->end()) {
        throw ServerError(where_ + ": unknown key \"" + dotted + "\"" + line(entry.first));
      }
      if (!seen.insert(name).second) fail(dotted, entry.first, "appears twice");
      if (!entry.second.IsNull()) visit(name, entry.second, dotted);
    }
  }

  std::string string(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) fail(key, node, "expected a string, got " + describe(node));
    return node.Scalar();
  }

  bool boolean(const YAML::Node& node, const std::string& key) const {
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
      fail(key, node, "expected true or false, got " + describe(node));
    }
    return value;
  }

  std::vector<std::string> strings(const YAML::Node& node, const std::string& key) const {
    if (!node.IsSequence()) fail(key, node, "expected a list of strings, got " + describe(node));
    std::vector<std::string> out;
    for (const auto& item : node)
      out.push_back(string(item, key));
    return out;
  }

  // A file name; relative ones are relative to the web config file (exporter-toolkit).
  std::string path(const YAML::Node& node, const std::string& key) const {
    std::filesystem::path p = string(node, key);
    if (p.empty() || p.is_absolute() || dir_.empty()) return p.string();
    return (dir_ / p).lexically_normal().string();
  }

  const std::string& where() const { return where_; }

 private:
  static std::string line(const YAML::Node& node) {
    if (node.Mark().is_null()) return {};
    return " (line " + std::to_string(node.Mark().line + 1) + ")";
  }

  std::string where_;
  std::filesystem::path dir_;
};

void read_tls(const Reader& r, const YAML::Node& node, TlsServerConfig& tls) {
  static const Known known = {"cert",
                              "key",
                              "client_ca",
                              "cert_file",
                              "key_file",
                              "client_ca_file",
                              "client_auth_type",
                              "client_allowed_sans",
                              "min_version",
                              "max_version",
                              "cipher_suites",
                              "prefer_server_cipher_suites",
                              "curve_preferences"};
  r.entries(node, "tls_server_config", &known,
            [&](const std::string& name, const YAML::Node& v, const std::string& key) {
              if (name == "cert") tls.cert = r.string(v, key);
              if (name == "key") tls.key = r.string(v, key);
              if (name == "client_ca") tls.client_ca = r.string(v, key);
              if (name == "cert_file") tls.cert_file = r.path(v, key);
              if (name == "key_file") tls.key_file = r.path(v, key);
              if (name == "client_ca_file") tls.client_ca_file = r.path(v, key);
              if (name == "client_auth_type") tls.client_auth_type = r.string(v, key);
              if (name == "client_allowed_sans") tls.client_allowed_sans = r.strings(v, key);
              if (name == "min_version") tls.min_version = r.string(v, key);
              if (name == "max_version") tls.max_version = r.string(v, key);
              if (name == "cipher_suites") tls.cipher_suites = r.strings(v, key);
              if (name == "prefer_server_cipher_suites") {
                tls.prefer_server_cipher_suites = r.boolean(v, key);
              }
              if (name == "curve_preferences") tls.curve_preferences = r.strings(v, key);
            });
}

std::vector<std::pair<std::string, std::string>> read_headers(const Reader& r,
                                                              const YAML::Node& node,
                                                              const std::string& key) {
  std::vector<std::pair<std::string, std::string>> out;
  r.entries(node, key, nullptr,
            [&](const std::string& name, const YAML::Node& v, const std::string& dotted) {
              const auto& allowed = allowed_headers();
              auto it = std::find_if(allowed.begin(), allowed.end(),
                                     [&](const AllowedHeader& h) { return h.name == name; });
              if (it == allowed.end()) {
                std::string names;
                for (const auto& h : allowed)
                  names += (names.empty() ? "" : ", ") + std::string(h.name);
                r.fail(dotted, v, "this header cannot be configured (only " + names + ")");
              }
              std::string value = r.string(v, dotted);
              if (std::any_of(value.begin(), value.end(), [](char c) {
                    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
                  })) {
                r.fail(dotted, v, "control characters (such as a line break) are not allowed");
              }
              if (!it->values.empty() &&
                  std::find(it->values.begin(), it->values.end(), value) == it->values.end()) {
                std::string values;
                for (auto a : it->values)
                  values += (values.empty() ? "\"" : ", \"") + std::string(a) + "\"";
                r.fail(dotted, v, "\"" + value + "\" is not one of " + values);
              }
              if (!value.empty()) out.emplace_back(name, value);  // blank: unset
            });
  return out;
}

}  // namespace

std::shared_ptr<const http::WebConfig> LoadedWebConfig::parse(std::string_view yaml,
                                                              const std::string& path) {
  std::shared_ptr<LoadedWebConfig> config(new LoadedWebConfig());
  config->path_ = path;
  Reader r("web config file \"" + path + "\"", std::filesystem::path(path).parent_path());
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw ServerError(r.where() + ": not valid YAML: line " + std::to_string(e.mark.line + 1) +
                      ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (doc.IsNull()) doc = YAML::Node(YAML::NodeType::Map);  // an empty file: plain HTTP
  if (!doc.IsMap()) {
    throw ServerError(r.where() +
                      ": expected a YAML mapping with tls_server_config, http_server_config, "
                      "basic_auth_users or rate_limit, got " +
                      describe(doc));
  }

  TlsServerConfig tls;
  std::map<std::string, std::string, std::less<>> users;
  static const Known top = {"tls_server_config", "http_server_config", "basic_auth_users",
                            "rate_limit"};
  r.entries(doc, "", &top, [&](const std::string& name, const YAML::Node& v, const std::string&) {
    if (name == "tls_server_config") read_tls(r, v, tls);
    if (name == "http_server_config") {
      static const Known known = {"http2", "headers"};
      r.entries(v, name, &known,
                [&](const std::string& sub, const YAML::Node& sv, const std::string& key) {
                  if (sub == "http2") r.boolean(sv, key);  // accepted; HTTP/1.1 only here
                  if (sub == "headers") config->headers_ = read_headers(r, sv, key);
                });
    }
    if (name == "basic_auth_users") {
      r.entries(v, name, nullptr,
                [&](const std::string& user, const YAML::Node& hv, const std::string& key) {
                  if (user.find(':') != std::string::npos) {
                    r.fail(key, hv, "a user name cannot contain \":\" (basic auth splits there)");
                  }
                  std::string hash = r.string(hv, key);
                  if (auto problem = http::bcrypt_problem(hash); !problem.empty()) {
                    r.fail(key, hv, problem);
                  }
                  users.emplace(user, std::move(hash));
                });
    }
    if (name == "rate_limit") {
      static const Known known = {"interval", "burst"};
      r.entries(v, name, &known,
                [&](const std::string& sub, const YAML::Node& sv, const std::string& key) {
                  if (sub == "interval") {
                    auto d = parse_go_duration(r.string(sv, key));
                    if (!d) r.fail(key, sv, "expected a duration such as \"1s\" or \"100ms\"");
                    config->rate_interval_ = *d;
                  }
                  if (sub == "burst") {
                    int burst = 0;
                    if (!sv.IsScalar() || !YAML::convert<int>::decode(sv, burst) || burst < 0) {
                      r.fail(key, sv, "expected a non-negative integer, got " + describe(sv));
                    }
                    config->rate_burst_ = burst;
                  }
                });
    }
  });
  if (tls.wanted()) config->tls_ = http::load_tls_settings(tls, r.where());
  if (!users.empty()) config->auth_ = std::make_unique<BasicAuth>(std::move(users));
  config->tokens_ = static_cast<double>(config->rate_burst_);
  config->refilled_ = std::chrono::steady_clock::now();
  return config;
}

bool LoadedWebConfig::admit(const Request& request, Response& response,
                            bool check_basic_auth) const {
  if (rate_interval_.count() > 0) {
    std::lock_guard lock(rate_mutex_);
    auto now = std::chrono::steady_clock::now();
    std::chrono::duration<double> elapsed = now - refilled_;
    std::chrono::duration<double> interval = rate_interval_;
    tokens_ = std::min<double>(rate_burst_, tokens_ + elapsed / interval);
    refilled_ = now;
    if (tokens_ < 1) {
      response.status = 429;
      response.body = "Too Many Requests\n";
      return false;
    }
    tokens_ -= 1;
  }
  if (!check_basic_auth || !auth_) return true;
  switch (auth_->check(request.header("Authorization"))) {
    case AuthResult::Allowed:
      return true;
    case AuthResult::Busy:
      response.status = 503;
      response.headers.emplace_back("Retry-After", "1");
      response.body = "Too many logins being checked, try again\n";
      return false;
    case AuthResult::Denied:
      break;
  }
  response.status = 401;
  response.headers.emplace_back("WWW-Authenticate", "Basic");
  response.body = "Unauthorized\n";
  return false;
}

bool LoadedWebConfig::admits_at_once(const Request& request, bool check_basic_auth) const {
  return !check_basic_auth || !auth_ || auth_->answers_at_once(request.header("Authorization"));
}

void LoadedWebConfig::add_headers(Response& response) const {
  // Not a structured binding: clang before 16 (scripts/fuzz uses 14) cannot capture one.
  for (const auto& header : headers_) {
    bool set = std::any_of(response.headers.begin(), response.headers.end(),
                           [&](const auto& h) { return core::iequals(h.first, header.first); });
    if (!set) response.headers.push_back(header);
  }
}

}  // namespace afp::websec
