#include "pipeline/server_timing.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

using afp::pipeline::kMaxServerTimingEntries;
using afp::pipeline::kMaxServerTimingNameLength;
using afp::pipeline::parse_server_timing;
using afp::pipeline::ServerTiming;

namespace {

using Entries = std::vector<std::pair<std::string, std::optional<double>>>;

// Names exactly, durations to rounding (123.4 / 1000 is not the literal 0.1234).
void check_entries(const ServerTiming& timing, const Entries& expected) {
  REQUIRE(timing.entries.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(timing.entries[i].name == expected[i].first);
    REQUIRE(timing.entries[i].seconds.has_value() == expected[i].second.has_value());
    if (expected[i].second) CHECK(*timing.entries[i].seconds == Approx(*expected[i].second));
  }
}

// What every parse must satisfy, whatever the input.
void check_invariants(const ServerTiming& t) {
  if (!t.ok()) REQUIRE(t.entries.empty());
  REQUIRE(t.entries.size() <= kMaxServerTimingEntries);
  for (const auto& e : t.entries) {
    REQUIRE(!e.name.empty());
    REQUIRE(e.name.size() <= kMaxServerTimingNameLength);
    if (e.seconds) REQUIRE((std::isfinite(*e.seconds) && *e.seconds >= 0));
  }
}

std::string many_metrics(std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i)
    out += (i ? ", m" : "m") + std::to_string(i) + ";dur=" + std::to_string(i);
  return out;
}

}  // namespace

TEST_CASE("Server-Timing: valid headers", "[pipeline][server_timing]") {
  struct Case {
    std::string header;
    Entries expected;
  };
  std::vector<Case> cases = {
      {"", {}},
      {"   ", {}},
      {"total;dur=123.4", {{"total", 0.1234}}},
      {"db;dur=53, app;dur=47.2", {{"db", 0.053}, {"app", 0.0472}}},
      {"cache;desc=\"Cache Read\";dur=23.2", {{"cache", 0.0232}}},
      {"miss, db;dur=53", {{"miss", std::nullopt}, {"db", 0.053}}},
      {"dc;desc=atl", {{"dc", std::nullopt}}},
      {"  a ; dur = 1 ;desc=\"x, y; z\" , b;dur=2  ", {{"a", 0.001}, {"b", 0.002}}},
      {"a\t;\tdur=1\t,\tb", {{"a", 0.001}, {"b", std::nullopt}}},
      {"a;desc=\"esc \\\" \\\\ , \\;\";dur=1", {{"a", 0.001}}},
      {"a;desc=\"caf\xc3\xa9\";dur=1", {{"a", 0.001}}},  // obs-text in a quoted string
      {"a;desc=\"\";dur=1", {{"a", 0.001}}},
      {"a;DUR=5;Desc=x", {{"a", 0.005}}},  // parameter names are case-insensitive
      {"a;dur=1;dur=2", {{"a", 0.001}}},   // the first dur of a metric wins
      {"a;dur=1, a;dur=2, b, a", {{"a", 0.001}, {"b", std::nullopt}}},  // first metric wins
      {"a;desc=x, a;dur=2", {{"a", std::nullopt}}},
      {"a, , ,b,", {{"a", std::nullopt}, {"b", std::nullopt}}},  // empty list elements
      {", a", {{"a", std::nullopt}}},
      {"a;dur=\"7\"", {{"a", 0.007}}},
      {"a;dur=0", {{"a", 0.0}}},
      {"a;dur=-0", {{"a", 0.0}}},
      {"a;dur=1e3", {{"a", 1.0}}},
      {"a;dur=.5", {{"a", 0.0005}}},
      {"a;dur=60000", {{"a", 60.0}}},
      {"a;foo", {{"a", std::nullopt}}},  // unknown parameters are ignored, even valueless
      {"a;foo=bar;baz=\"q;,\";dur=4", {{"a", 0.004}}},
      {"a;desc", {{"a", std::nullopt}}},
      {"!#$%&'*+-.^_`|~09AZaz;dur=1", {{"!#$%&'*+-.^_`|~09AZaz", 0.001}}},
      {"A;dur=1, a;dur=2", {{"A", 0.001}, {"a", 0.002}}},  // names are case-sensitive
      // Two header lines as the probe joins them.
      {"fingerprint;dur=1840, lookup;dur=41;desc=\"db lookup\"",
       {{"fingerprint", 1.84}, {"lookup", 0.041}}},
      {std::string(kMaxServerTimingNameLength, 'n') + ";dur=1",
       {{std::string(kMaxServerTimingNameLength, 'n'), 0.001}}},
  };
  for (const auto& c : cases) {
    INFO("header: " << c.header);
    auto t = parse_server_timing(c.header);
    CHECK(t.error == "");
    check_entries(t, c.expected);
    check_invariants(t);
  }
}

TEST_CASE("Server-Timing: the entry cap allows exactly the maximum", "[pipeline][server_timing]") {
  auto full = parse_server_timing(many_metrics(kMaxServerTimingEntries));
  CHECK(full.ok());
  CHECK(full.entries.size() == kMaxServerTimingEntries);
  CHECK(full.entries.back().seconds == Approx((kMaxServerTimingEntries - 1) / 1000.0));

  auto over = parse_server_timing(many_metrics(kMaxServerTimingEntries + 1));
  CHECK_THAT(over.error, Catch::Contains("more than 32 metrics"));
  CHECK(over.entries.empty());
}

TEST_CASE("Server-Timing: malformed headers", "[pipeline][server_timing]") {
  struct Case {
    std::string header;
    std::string error;  // a part of the message
  };
  std::vector<Case> cases = {
      {"a;dur=", "expected a parameter value"},
      {"a;dur", "dur is not a finite non-negative number"},
      {"a;dur=abc", "dur is not"},
      {"a;dur=-1", "dur is not"},
      {"a;dur=-0.001", "dur is not"},
      {"a;dur=inf", "dur is not"},
      {"a;dur=INF", "dur is not"},
      {"a;dur=nan", "dur is not"},
      {"a;dur=1e400", "dur is not"},
      {"a;dur=0x10", "dur is not"},
      {"a;dur=+1", "dur is not"},
      {"a;dur=1.5ms", "dur is not"},
      {"a;dur=1.2.3", "dur is not"},
      {"a;dur=\"\"", "dur is not"},
      {"a;dur=\" 1\"", "dur is not"},
      {"a;dur=1;dur=x", "dur is not"},  // a later dur is still checked
      {"a;desc=\"unterminated", "offset 7: unterminated quoted string"},
      {"a;desc=\"ends in a backslash\\", "unterminated quoted string"},
      {"a;desc=\"ctl\x01\"", "control character in quoted string"},
      {"a;desc=\"del\x7f\"", "control character in quoted string"},
      {std::string("a;desc=\"nul\0\"", 13), "control character in quoted string"},
      {"a;desc=\"x\"y", "expected ',' or ';'"},
      {"a b", "offset 2: expected ',' or ';'"},
      {"a;dur=1 2", "expected ',' or ';'"},
      {"a;desc=x y", "expected ',' or ';'"},
      {"a(b)", "expected ',' or ';'"},
      {"a;", "expected a parameter name"},
      {"a;dur=1;", "expected a parameter name"},
      {"a;;dur=1", "expected a parameter name"},
      {"a;=1", "expected a parameter name"},
      {";dur=1", "offset 0: expected a metric name"},
      {"\"quoted\";dur=1", "expected a metric name"},
      {"caf\xc3\xa9;dur=1", "expected ',' or ';'"},
      {"\xc3\xa9", "expected a metric name"},
      {"a=1", "expected ',' or ';'"},
      {"a;dur==1", "expected a parameter value"},
      {"a;de(sc=1", "expected ',' or ';'"},
      {"a\r\n;dur=1", "expected ',' or ';'"},
      {std::string("a\0;dur=1", 8), "expected ',' or ';'"},
      {"good;dur=1, bad;dur=-5", "dur is not"},  // one bad metric spoils the header
      {std::string(kMaxServerTimingNameLength + 1, 'n'), "metric name longer than 64 bytes"},
  };
  for (const auto& c : cases) {
    INFO("header: " << c.header);
    auto t = parse_server_timing(c.header);
    CHECK_THAT(t.error, Catch::Contains(c.error));
    CHECK(t.entries.empty());
  }
}

TEST_CASE("Server-Timing: every prefix of a valid header parses or fails cleanly",
          "[pipeline][server_timing]") {
  const std::string header =
      "fingerprint;dur=1840.5;desc=\"Fingerprint, \\\"landmarks\\\"; hashes\", "
      "lookup ; desc=db ; dur = 41 , cache, total;dur=2310;foo=\"bar\"";
  auto full = parse_server_timing(header);
  REQUIRE(full.ok());
  REQUIRE(full.entries.size() == 4);
  std::size_t failures = 0;
  for (std::size_t n = 0; n <= header.size(); ++n) {
    INFO("prefix length " << n);
    auto t = parse_server_timing(std::string_view(header).substr(0, n));
    check_invariants(t);
    if (!t.ok()) {
      ++failures;
      CHECK_THAT(t.error, Catch::StartsWith("offset "));
    }
    CHECK(t.entries.size() <= full.entries.size());
  }
  CHECK(failures > 0);  // the prefixes inside the quoted string at least
}

TEST_CASE("Server-Timing: hostile inputs", "[pipeline][server_timing]") {
  SECTION("a megabyte of commas is an empty list") {
    auto t = parse_server_timing(std::string(1 << 20, ','));
    CHECK(t.ok());
    CHECK(t.entries.empty());
  }
  SECTION("a flood of metrics stops at the cap") {
    std::string flood;
    for (int i = 0; i < 100000; ++i)
      flood += "a,";
    auto t = parse_server_timing(flood);
    CHECK_THAT(t.error, Catch::Contains("more than 32 metrics"));
  }
  SECTION("a megabyte-long name") {
    auto t = parse_server_timing(std::string(1 << 20, 'x') + ";dur=1");
    CHECK_THAT(t.error, Catch::Contains("longer than 64"));
  }
  SECTION("a megabyte of quotes and backslashes") {
    std::string quotes = "a;desc=" + std::string(1 << 20, '"');
    CHECK(!parse_server_timing(quotes).ok());
    std::string escapes = "a;desc=\"" + std::string(1 << 20, '\\');
    CHECK_THAT(parse_server_timing(escapes).error, Catch::Contains("unterminated"));
  }
  SECTION("a megabyte of parameters on one metric") {
    std::string params = "a";
    while (params.size() < (1 << 20))
      params += ";x=y";
    auto t = parse_server_timing(params + ";dur=3");
    CHECK(t.ok());
    check_entries(t, {{"a", 0.003}});
  }
  SECTION("huge numbers") {
    CHECK(parse_server_timing("a;dur=" + std::string(400, '9')).error.find("dur is not") !=
          std::string::npos);
    auto t = parse_server_timing("a;dur=1e300");
    REQUIRE(t.ok());
    CHECK(*t.entries[0].seconds == Approx(1e297));
    auto tiny = parse_server_timing("a;dur=1e-400");  // underflow: refused or 0, never garbage
    check_invariants(tiny);
  }
  SECTION("random bytes never break the invariants") {
    std::mt19937 rng(20240611);
    const std::string alphabet = "ab;=,\" \t\\dur.0123456789e-+\x01\x7f\xc3";
    for (int i = 0; i < 20000; ++i) {
      std::string s(rng() % 48, ' ');
      bool raw = i % 4 == 0;
      for (auto& c : s)
        c = raw ? static_cast<char>(rng()) : alphabet[rng() % alphabet.size()];
      INFO("input #" << i);
      check_invariants(parse_server_timing(s));
    }
  }
}
