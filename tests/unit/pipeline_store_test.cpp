// The pipeline Store: bucket placement, label checks, all-or-nothing batches, the
// cardinality cap, concurrency, and its exposition (held byte for byte to TextSerializer).

#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <deque>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "golden.h"
#include "metrics/text_parser.h"
#include "metrics/text_writer.h"
#include "pipeline/store.h"

namespace {

using afp::metrics::find_sample;
using afp::metrics::find_samples;
using afp::metrics::LabelMatch;
using afp::metrics::Sample;
using afp::pipeline::kDurationBuckets;
using afp::pipeline::Kind;
using afp::pipeline::Limits;
using afp::pipeline::Observation;
using afp::pipeline::Reject;
using afp::pipeline::Store;
using afp::pipeline::Transport;

constexpr const char* kFingerprint = "afp_fingerprint_generation_seconds";
constexpr const char* kApi = "afp_api_request_duration_seconds";
constexpr const char* kDb = "afp_db_query_duration_seconds";
constexpr const char* kAccepted = "afp_ingest_observations_total";
constexpr const char* kRejected = "afp_ingest_rejected_total";

Observation obs(Kind kind, double value, std::array<std::string_view, 3> labels = {},
                std::uint32_t weight = 1) {
  Observation o;
  o.kind = kind;
  o.value = value;
  o.labels = labels;
  o.weight = weight;
  return o;
}

Observation api(std::string_view endpoint, std::string_view method = "GET",
                std::string_view status = "200", double seconds = 0.1) {
  return obs(Kind::ApiRequest, seconds, {endpoint, method, status});
}

std::string text_of(const Store& store) {
  std::string text;
  afp::metrics::TextWriter out(text);
  store.write(out);
  return text;
}

std::vector<Sample> scrape(const Store& store) {
  return afp::metrics::parse_text(text_of(store));
}

// The value of the one sample with that name and labels; NaN when there is none, so that
// a missing series fails every comparison.
double value(const std::vector<Sample>& samples, std::string_view name, LabelMatch labels = {}) {
  const Sample* s = find_sample(samples, name, labels);
  return s ? s->value : std::nan("");
}

double rejected(const std::vector<Sample>& samples, std::string_view transport,
                std::string_view reason) {
  return value(samples, kRejected, {{"transport", transport}, {"reason", reason}});
}

// The block of one family in an exposition: its HELP line up to the next family.
std::string family_block(const std::string& text, const std::string& name) {
  auto start = text.find("# HELP " + name + " ");
  if (start == std::string::npos) return {};
  auto end = text.find("# HELP ", start + 1);
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string help_of(const std::string& text, const std::string& name) {
  std::string block = family_block(text, name);
  auto from = std::string("# HELP " + name + " ").size();
  return block.substr(from, block.find('\n') - from);
}

TEST_CASE("pipeline store: a fresh store shows every fixed series at zero", "[pipeline][store]") {
  Store store;
  std::string text = text_of(store);
  auto samples = afp::metrics::parse_text(text);

  CHECK(value(samples, "afp_fingerprint_generation_seconds_count") == 0);
  CHECK(value(samples, "afp_fingerprint_generation_seconds_sum") == 0);
  CHECK(find_samples(samples, "afp_fingerprint_generation_seconds_bucket").size() == 19);
  CHECK(value(samples, "afp_fingerprint_generation_seconds_bucket", {{"le", "+Inf"}}) == 0);
  for (auto op : {"lookup", "insert", "delete", "other"}) {
    INFO(op);
    CHECK(value(samples, "afp_db_query_duration_seconds_count", {{"operation", op}}) == 0);
    CHECK(
        find_samples(samples, "afp_db_query_duration_seconds_bucket", {{"operation", op}}).size() ==
        19);
  }
  for (auto result : {"match", "no_match", "error"})
    CHECK(value(samples, "afp_identifications_total", {{"result", result}}) == 0);
  CHECK(find_samples(samples, "afp_identifications_total").size() == 3);
  CHECK(value(samples, "afp_audio_processed_seconds_total") == 0);
  CHECK(value(samples, "afp_fingerprint_hashes_total") == 0);
  CHECK(find_samples(samples, "afp_api_request_duration_seconds_count").empty());

  CHECK(value(samples, kAccepted, {{"transport", "http"}}) == 0);
  CHECK(value(samples, kAccepted, {{"transport", "statsd"}}) == 0);
  CHECK(find_samples(samples, kRejected, {{"transport", "http"}}).size() == 13);
  CHECK(find_samples(samples, kRejected, {{"transport", "statsd"}}).size() == 10);
  for (auto reason : {"unsupported_type", "dropped"})
    CHECK(find_samples(samples, kRejected, {{"transport", "http"}, {"reason", reason}}).empty());
  // Statsd ignores the tags a metric does not take: it never refuses an unknown label.
  for (auto reason :
       {"too_many_items", "body_too_large", "unsupported_media", "unauthorized", "unknown_label"})
    CHECK(find_samples(samples, kRejected, {{"transport", "statsd"}, {"reason", reason}}).empty());
  CHECK(rejected(samples, "http", "unknown_label") == 0);
  for (auto reason : {"malformed", "unknown_metric", "missing_label", "invalid_value",
                      "label_too_long", "cardinality", "overflow", "series_limit"}) {
    CHECK(rejected(samples, "http", reason) == 0);
    CHECK(rejected(samples, "statsd", reason) == 0);
  }

  for (std::string family :
       {kFingerprint, kApi, kDb, "afp_identifications_total", "afp_audio_processed_seconds_total",
        "afp_fingerprint_hashes_total", kAccepted, kRejected}) {
    INFO(family);
    CHECK(help_of(text, family).size() > 20);
  }
  CHECK(afp::test::count(text, "# TYPE ") == 8);
  CHECK(afp::test::count(text, " histogram\n") == 3);
}

TEST_CASE("pipeline store: names of transports and reasons", "[pipeline][store]") {
  CHECK(afp::pipeline::transport_name(Transport::Http) == "http");
  CHECK(afp::pipeline::transport_name(Transport::Statsd) == "statsd");
  CHECK(afp::pipeline::reject_name(Reject::Malformed) == "malformed");
  CHECK(afp::pipeline::reject_name(Reject::LabelTooLong) == "label_too_long");
  CHECK(afp::pipeline::reject_name(Reject::UnsupportedMedia) == "unsupported_media");
  CHECK(afp::pipeline::reject_name(Reject::Dropped) == "dropped");
  CHECK(afp::pipeline::reject_name(Reject::Overflow) == "overflow");
  CHECK(afp::pipeline::reject_name(Reject::SeriesLimit) == "series_limit");
  CHECK(afp::pipeline::reject_name(Reject::MissingLabel) == "missing_label");
}

TEST_CASE("pipeline store: a value on a bucket bound lands in that bucket", "[pipeline][store]") {
  std::vector<double> values{0, 0.001, 0.005, 0.0050001, 0.01, 0.999, 1,  1.0000001, 2.5,
                             3, 4.99,  5,     7.5,       10,   10.01, 60, 61,        1e300};
  for (double v : values) {
    Store store;
    REQUIRE_FALSE(store.apply(Transport::Http, std::vector{obs(Kind::FingerprintGeneration, v)}));
    auto samples = scrape(store);
    for (double bound : kDurationBuckets) {
      std::string le;
      afp::metrics::append_value(le, bound);
      INFO("value " << v << " bucket le=" << le);
      CHECK(value(samples, "afp_fingerprint_generation_seconds_bucket", {{"le", le}}) ==
            (v <= bound ? 1 : 0));
    }
    CHECK(value(samples, "afp_fingerprint_generation_seconds_bucket", {{"le", "+Inf"}}) == 1);
    CHECK(value(samples, "afp_fingerprint_generation_seconds_sum") == v);
  }
}

TEST_CASE("pipeline store: the thresholds 1, 3, 5 and 10 s are exact", "[pipeline][store]") {
  Store store;
  std::vector<Observation> batch;
  for (double v : {1.0, 3.0, 5.0, 10.0})
    batch.push_back(obs(Kind::DbQuery, v, {"lookup"}));
  REQUIRE_FALSE(store.apply(Transport::Http, batch));
  auto samples = scrape(store);
  auto bucket = [&](std::string_view le) {
    return value(samples, "afp_db_query_duration_seconds_bucket",
                 {{"operation", "lookup"}, {"le", le}});
  };
  CHECK(bucket("0.5") == 0);
  CHECK(bucket("1") == 1);
  CHECK(bucket("2") == 1);
  CHECK(bucket("3") == 2);
  CHECK(bucket("4") == 2);
  CHECK(bucket("5") == 3);
  CHECK(bucket("7.5") == 3);
  CHECK(bucket("10") == 4);
  CHECK(bucket("+Inf") == 4);
  CHECK(value(samples, "afp_db_query_duration_seconds_sum", {{"operation", "lookup"}}) == 19);
  CHECK(value(samples, "afp_db_query_duration_seconds_count", {{"operation", "insert"}}) == 0);
}

TEST_CASE("pipeline store: weight counts an observation that many times", "[pipeline][store]") {
  Store store;
  REQUIRE_FALSE(
      store.apply(Transport::Statsd, std::vector{obs(Kind::FingerprintGeneration, 2, {}, 4),
                                                 obs(Kind::Identification, 1, {"no_match"}, 3),
                                                 obs(Kind::AudioProcessed, 1.5, {}, 2),
                                                 obs(Kind::FingerprintHashes, 4919, {}, 1)}));
  auto samples = scrape(store);
  CHECK(value(samples, "afp_fingerprint_generation_seconds_count") == 4);
  CHECK(value(samples, "afp_fingerprint_generation_seconds_sum") == 8);
  CHECK(value(samples, "afp_fingerprint_generation_seconds_bucket", {{"le", "2"}}) == 4);
  CHECK(value(samples, "afp_fingerprint_generation_seconds_bucket", {{"le", "1"}}) == 0);
  CHECK(value(samples, "afp_identifications_total", {{"result", "no_match"}}) == 3);
  CHECK(value(samples, "afp_identifications_total", {{"result", "match"}}) == 0);
  CHECK(value(samples, "afp_audio_processed_seconds_total") == 3);
  CHECK(value(samples, "afp_fingerprint_hashes_total") == 4919);
  CHECK(value(samples, kAccepted, {{"transport", "statsd"}}) == 4);
  CHECK(value(samples, kAccepted, {{"transport", "http"}}) == 0);
}

TEST_CASE("pipeline store: api_request series appear on first observation, sorted",
          "[pipeline][store]") {
  Store store;
  REQUIRE_FALSE(store.apply(Transport::Http, std::vector{api("/identify", "POST", "200", 2.31),
                                                         api("/fingerprint", "POST", "500", 0.2),
                                                         api("/identify", "POST", "200", 0.5)}));
  std::string text = text_of(store);
  auto samples = afp::metrics::parse_text(text);
  auto counts = find_samples(samples, "afp_api_request_duration_seconds_count");
  REQUIRE(counts.size() == 2);
  CHECK(afp::metrics::label_value(*counts[0], "endpoint") == "/fingerprint");
  CHECK(counts[0]->value == 1);
  CHECK(counts[1]->value == 2);
  CHECK(value(samples, "afp_api_request_duration_seconds_sum",
              {{"endpoint", "/identify"}, {"method", "POST"}, {"status", "200"}}) == 2.81);
  CHECK(text.find("afp_api_request_duration_seconds_bucket{endpoint=\"/identify\",method=\"POST\","
                  "status=\"200\",le=\"2.5\"} 2\n") == std::string::npos);  // no such bound
  CHECK(text.find("afp_api_request_duration_seconds_bucket{endpoint=\"/identify\",method=\"POST\","
                  "status=\"200\",le=\"3\"} 2\n") != std::string::npos);
}

struct LabelCase {
  Observation o;
  std::optional<Reject> reason;  // none: accepted
};

TEST_CASE("pipeline store: label and value checks", "[pipeline][store]") {
  std::string long_endpoint(128, 'e');
  std::string too_long(129, 'e');
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<LabelCase> cases{
      {api("/identify"), {}},
      {api("/x", "PURGE"), {}},
      {api("/x", "ABCDEFGHIJKLMNOP"), {}},
      {api("/x", "GET", "100"), {}},
      {api("/x", "GET", "599"), {}},
      {api("日本語/🎵"), {}},
      {api(long_endpoint), {}},
      {api(std::string_view("a\0b", 3)), Reject::InvalidValue},  // control characters
      {api("/a\nb"), Reject::InvalidValue},
      {api("/a\x1b[31m"), Reject::InvalidValue},
      {api("/a\x7f"), Reject::InvalidValue},
      {api("/a\tb"), Reject::InvalidValue},
      {api(too_long), Reject::LabelTooLong},
      {api(""), Reject::InvalidValue},
      {api("/x", "get"), Reject::InvalidValue},
      {api("/x", ""), Reject::InvalidValue},
      {api("/x", "ABCDEFGHIJKLMNOPQ"), Reject::InvalidValue},
      {api("/x", "GE T"), Reject::InvalidValue},
      {api("/x", "GET", "099"), Reject::InvalidValue},
      {api("/x", "GET", "600"), Reject::InvalidValue},
      {api("/x", "GET", "20"), Reject::InvalidValue},
      {api("/x", "GET", "2000"), Reject::InvalidValue},
      {api("/x", "GET", "2x0"), Reject::InvalidValue},
      {api("/x", "GET", ""), Reject::InvalidValue},
      {api("\xc0\xaf"), Reject::InvalidValue},          // overlong '/'
      {api("\xed\xa0\x80"), Reject::InvalidValue},      // a UTF-16 surrogate
      {api("\xf4\x90\x80\x80"), Reject::InvalidValue},  // above U+10FFFF
      {api("ab\xe6\x97"), Reject::InvalidValue},        // truncated sequence
      {api("\x80"), Reject::InvalidValue},
      {api("\xff"), Reject::InvalidValue},
      {obs(Kind::DbQuery, 0.1, {"lookup"}), {}},
      {obs(Kind::DbQuery, 0.1, {"other"}), {}},
      {obs(Kind::DbQuery, 0.1, {"select"}), Reject::InvalidValue},
      {obs(Kind::DbQuery, 0.1, {"LOOKUP"}), Reject::InvalidValue},
      {obs(Kind::DbQuery, 0.1, {}), Reject::InvalidValue},
      {obs(Kind::DbQuery, 0.1, {too_long}), Reject::LabelTooLong},
      {obs(Kind::DbQuery, 0.1, {"lookup", "x"}), Reject::UnknownLabel},
      {obs(Kind::Identification, 1, {"error"}), {}},
      {obs(Kind::Identification, 1, {"matched"}), Reject::InvalidValue},
      {obs(Kind::FingerprintGeneration, 1, {"x"}), Reject::UnknownLabel},
      {obs(Kind::AudioProcessed, 1, {"", "", "x"}), Reject::UnknownLabel},
      {obs(Kind::FingerprintGeneration, 0), {}},
      {obs(Kind::FingerprintGeneration, -0.0), {}},
      {obs(Kind::FingerprintGeneration, -1e-9), Reject::InvalidValue},
      {obs(Kind::FingerprintGeneration, inf), Reject::InvalidValue},
      {obs(Kind::FingerprintGeneration, std::nan("")), Reject::InvalidValue},
      {obs(Kind::FingerprintHashes, -1), Reject::InvalidValue},
      {obs(Kind::FingerprintHashes, 1, {}, 0), Reject::InvalidValue},
      {obs(Kind::AudioProcessed, 1e300, {}, 4'000'000'000U), Reject::InvalidValue},  // +Inf
      {obs(Kind::AudioProcessed, 1e300, {}, 1000), {}},
      {obs(static_cast<Kind>(6), 1), Reject::UnknownMetric},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    INFO("case " << i);
    Store store;
    auto refusal = store.apply(Transport::Http, std::vector{c.o});
    if (!c.reason) {
      CHECK_FALSE(refusal);
      CHECK(store.apply_each(Transport::Statsd, std::vector{c.o}) == 1);
      continue;
    }
    REQUIRE(refusal);
    INFO(refusal->message);
    CHECK(refusal->reason == *c.reason);
    CHECK(refusal->index == 0);
    CHECK_FALSE(refusal->message.empty());
    CHECK(store.apply_each(Transport::Statsd, std::vector{c.o}) == 0);
    auto samples = scrape(store);
    auto reason = afp::pipeline::reject_name(*c.reason);
    CHECK(rejected(samples, "http", reason) == 1);
    CHECK(rejected(samples, "statsd", reason) == 1);
  }
}

TEST_CASE("pipeline store: refusal messages name the label", "[pipeline][store]") {
  Store store(Limits{.max_label_values = 1, .max_label_value_length = 10});
  auto r = store.apply(Transport::Http, std::vector{api("/identify-song")});
  REQUIRE(r);
  CHECK(r->message == "label \"endpoint\": longer than 10 bytes");
  r = store.apply(Transport::Http, std::vector{api("/a"), api("/a"), api("/b")});
  REQUIRE(r);
  CHECK(r->index == 2);
  CHECK(r->reason == Reject::Cardinality);
  CHECK(r->message ==
        "label \"endpoint\": new value refused, the limit of 1 distinct values is "
        "reached");
  r = store.apply(Transport::Http, std::vector{api("/a", "GET", "200", -1)});
  REQUIRE(r);
  CHECK(r->message == "value must be a finite number >= 0");
}

TEST_CASE("pipeline store: a refused batch changes nothing but the reject count",
          "[pipeline][store]") {
  Store store(Limits{.max_label_values = 2});
  REQUIRE_FALSE(store.apply(Transport::Http, std::vector{obs(Kind::AudioProcessed, 5)}));
  const std::string before = text_of(store);

  std::vector<Observation> batch{obs(Kind::FingerprintGeneration, 1),
                                 api("/reserved?", "PATCH", "418"),
                                 obs(Kind::Identification, 1, {"match"}),
                                 obs(Kind::DbQuery, 0.5, {"nope"}), obs(Kind::AudioProcessed, 1)};
  auto refusal = store.apply(Transport::Http, batch);
  REQUIRE(refusal);
  CHECK(refusal->index == 3);
  CHECK(refusal->reason == Reject::InvalidValue);

  auto after = scrape(store);
  CHECK(rejected(after, "http", "invalid_value") == 5);
  CHECK(value(after, kAccepted, {{"transport", "http"}}) == 1);
  // Apart from the reject counter, the exposition is the same bytes.
  std::string changed = text_of(store);
  std::string line = "afp_ingest_rejected_total{transport=\"http\",reason=\"invalid_value\"} ";
  auto at = changed.find(line + "5\n");
  REQUIRE(at != std::string::npos);
  changed = changed.substr(0, at) + line + "0\n" + changed.substr(at + line.size() + 2);
  CHECK(changed == before);

  // The refused batch reserved none of its new label values: two fresh ones still fit.
  CHECK_FALSE(store.apply(Transport::Http, std::vector{api("/a", "GET"), api("/b", "POST")}));
  auto third = store.apply(Transport::Http, std::vector{api("/reserved?", "GET")});
  REQUIRE(third);
  CHECK(third->reason == Reject::Cardinality);
}

TEST_CASE("pipeline store: the cardinality cap holds per label name", "[pipeline][store]") {
  Store store(Limits{.max_label_values = 3});
  for (auto e : {"/0", "/1", "/2"})
    REQUIRE_FALSE(store.apply(Transport::Http, std::vector{api(e)}));

  SECTION("a new value beyond the cap is refused, known ones still work") {
    auto r = store.apply(Transport::Http, std::vector{api("/1"), api("/3"), api("/0")});
    REQUIRE(r);
    CHECK(r->index == 1);
    CHECK(r->reason == Reject::Cardinality);
    CHECK_FALSE(store.apply(Transport::Http, std::vector{api("/1"), api("/2", "POST", "201")}));
    auto samples = scrape(store);
    CHECK(rejected(samples, "http", "cardinality") == 3);
    CHECK(find_samples(samples, "afp_api_request_duration_seconds_count").size() == 4);
    CHECK(find_samples(samples, "afp_api_request_duration_seconds_count", {{"endpoint", "/3"}})
              .empty());
  }
  SECTION("each label name has its own cap; known values combine freely") {
    REQUIRE_FALSE(store.apply(Transport::Http,
                              std::vector{api("/0", "POST"), api("/0", "PUT"), api("/2", "PUT")}));
    auto r = store.apply(Transport::Http, std::vector{api("/1", "DELETE")});
    REQUIRE(r);
    CHECK(r->message.find("\"method\"") != std::string::npos);
    REQUIRE_FALSE(store.apply(Transport::Http,
                              std::vector{api("/1", "PUT", "404"), api("/1", "PUT", "500")}));
    r = store.apply(Transport::Http, std::vector{api("/1", "PUT", "503")});
    REQUIRE(r);
    CHECK(r->message.find("\"status\"") != std::string::npos);
  }
  SECTION("new values within one batch count against the cap together") {
    Store fresh(Limits{.max_label_values = 2});
    auto r = fresh.apply(Transport::Http, std::vector{api("/a"), api("/b"), api("/a"), api("/c")});
    REQUIRE(r);
    CHECK(r->index == 3);
    CHECK_FALSE(fresh.apply(Transport::Http, std::vector{api("/c"), api("/a"), api("/c")}));
  }
  SECTION("apply_each admits up to the cap and counts the rest") {
    std::vector<Observation> lines{api("/1"), api("/4"), api("/5"), api("/2", "GET", "700"),
                                   api("/2")};
    CHECK(store.apply_each(Transport::Statsd, lines) == 2);
    auto samples = scrape(store);
    CHECK(value(samples, kAccepted, {{"transport", "statsd"}}) == 2);
    CHECK(rejected(samples, "statsd", "cardinality") == 2);
    CHECK(rejected(samples, "statsd", "invalid_value") == 1);
    CHECK(value(samples, "afp_api_request_duration_seconds_count", {{"endpoint", "/2"}}) == 2);
  }
}

TEST_CASE("pipeline store: running totals never become infinite", "[pipeline][store]") {
  Store store;
  constexpr double kHuge = 1e308;
  auto audio = [](double seconds) { return obs(Kind::AudioProcessed, seconds); };
  auto fingerprint = [](double seconds) { return obs(Kind::FingerprintGeneration, seconds); };
  REQUIRE_FALSE(store.apply(Transport::Http, std::vector{audio(kHuge), fingerprint(kHuge)}));

  SECTION("a second push past the limit is refused whole, naming the item") {
    auto r = store.apply(Transport::Http, std::vector{fingerprint(1), audio(kHuge)});
    REQUIRE(r);
    CHECK(r->index == 1);
    CHECK(r->reason == Reject::Overflow);
    CHECK(r->message.find("running total") != std::string::npos);
    auto samples = scrape(store);
    CHECK(value(samples, "afp_audio_processed_seconds_total") == kHuge);
    CHECK(value(samples, "afp_fingerprint_generation_seconds_count") == 1);
    CHECK(rejected(samples, "http", "overflow") == 2);
  }
  SECTION("two items of one batch that overflow together") {
    Store fresh;
    auto r = fresh.apply(Transport::Http, std::vector{fingerprint(kHuge), fingerprint(kHuge)});
    REQUIRE(r);
    CHECK(r->index == 1);
    auto api_huge = api("/a", "GET", "200", kHuge);
    r = fresh.apply(Transport::Http, std::vector{api_huge, api("/b"), api_huge});
    REQUIRE(r);
    CHECK(r->index == 2);  // a series the batch would create is followed too
    CHECK(find_samples(scrape(fresh), "afp_api_request_duration_seconds_count").empty());
  }
  SECTION("statsd refuses the line and keeps the rest") {
    std::vector<Observation> lines{audio(kHuge), audio(1), fingerprint(kHuge)};
    CHECK(store.apply_each(Transport::Statsd, lines) == 1);
    auto samples = scrape(store);
    CHECK(rejected(samples, "statsd", "overflow") == 2);
    CHECK(std::isfinite(value(samples, "afp_audio_processed_seconds_total")));
    CHECK(std::isfinite(value(samples, "afp_fingerprint_generation_seconds_sum")));
  }
}

TEST_CASE("pipeline store: the series cap holds per family", "[pipeline][store]") {
  Store store(Limits{.max_label_values = 100, .max_label_value_length = 128, .max_series = 4});
  REQUIRE_FALSE(store.apply(Transport::Http,
                            std::vector{api("/0"), api("/1"), api("/0", "POST"), api("/0")}));

  SECTION("a batch creating one series too many is refused whole") {
    auto r = store.apply(Transport::Http,
                         std::vector{api("/1", "POST"), api("/1"), api("/2"), api("/1", "POST")});
    REQUIRE(r);
    CHECK(r->index == 2);
    CHECK(r->reason == Reject::SeriesLimit);
    CHECK(r->message == "new series refused, the limit of 4 series is reached");
    auto samples = scrape(store);
    CHECK(find_samples(samples, "afp_api_request_duration_seconds_count").size() == 3);
    CHECK(rejected(samples, "http", "series_limit") == 4);
  }
  SECTION("known series keep working at the cap") {
    REQUIRE_FALSE(store.apply(Transport::Http, std::vector{api("/1", "PUT")}));
    CHECK(store.apply(Transport::Http, std::vector{api("/3")}));
    CHECK_FALSE(store.apply(Transport::Http, std::vector{api("/0"), api("/1", "PUT"), api("/1")}));
    CHECK(store.apply_each(Transport::Statsd, std::vector{api("/4"), api("/0")}) == 1);
    auto samples = scrape(store);
    CHECK(find_samples(samples, "afp_api_request_duration_seconds_count").size() == 4);
    CHECK(rejected(samples, "statsd", "series_limit") == 1);
  }
  SECTION("a million label sets make no more than the cap") {
    Store flood;
    std::deque<std::string> text;  // the label values the observations point into
    std::vector<std::string_view> endpoints, methods, statuses;
    for (int i = 0; i < 100; ++i) {
      endpoints.push_back(text.emplace_back("/" + std::to_string(i)));
      methods.push_back(text.emplace_back(
          std::string{static_cast<char>('A' + i / 26), static_cast<char>('A' + i % 26)}));
      statuses.push_back(text.emplace_back(std::to_string(100 + i)));
    }
    std::size_t accepted = 0;
    std::vector<Observation> batch;
    for (auto endpoint : endpoints) {
      batch.clear();
      for (auto method : methods) {
        for (auto status : statuses)
          batch.push_back(api(endpoint, method, status));
      }
      accepted += flood.apply_each(Transport::Statsd, batch);
    }
    CHECK(accepted == Limits{}.max_series);
    auto samples = scrape(flood);
    CHECK(find_samples(samples, "afp_api_request_duration_seconds_count").size() ==
          Limits{}.max_series);
    CHECK(rejected(samples, "statsd", "series_limit") == 1'000'000 - Limits{}.max_series);
  }
}

TEST_CASE("pipeline store: the closed label sets need no cap", "[pipeline][store]") {
  Store store(Limits{.max_label_values = 1});
  std::vector<Observation> batch;
  for (auto op : {"lookup", "insert", "delete", "other"})
    batch.push_back(obs(Kind::DbQuery, 0.01, {op}));
  for (auto result : {"match", "no_match", "error"})
    batch.push_back(obs(Kind::Identification, 1, {result}));
  CHECK_FALSE(store.apply(Transport::Http, batch));
}

TEST_CASE("pipeline store: count_rejected adds to the reason's series", "[pipeline][store]") {
  Store store;
  store.count_rejected(Transport::Http, Reject::Unauthorized);
  store.count_rejected(Transport::Http, Reject::BodyTooLarge, 3);
  store.count_rejected(Transport::Statsd, Reject::Dropped, 1000);
  store.count_rejected(Transport::Statsd, Reject::Unauthorized);  // not a statsd reason
  auto samples = scrape(store);
  CHECK(rejected(samples, "http", "unauthorized") == 1);
  CHECK(rejected(samples, "http", "body_too_large") == 3);
  CHECK(rejected(samples, "statsd", "dropped") == 1000);
  CHECK(rejected(samples, "statsd", "unauthorized") == 1);  // shown once it is not zero
  CHECK(value(samples, kAccepted, {{"transport", "http"}}) == 0);
}

TEST_CASE("pipeline store: an empty batch is accepted and counts nothing", "[pipeline][store]") {
  Store store;
  CHECK_FALSE(store.apply(Transport::Http, {}));
  CHECK(store.apply_each(Transport::Statsd, {}) == 0);
  CHECK(value(scrape(store), kAccepted, {{"transport", "http"}}) == 0);
}

// The histogram families against TextSerializer, fed by prometheus-cpp's own Histogram with
// the same observations: checks the le formatting, line order and bucket placement at once.
TEST_CASE("pipeline store: histograms are written as TextSerializer writes them",
          "[pipeline][store]") {
  const prometheus::Histogram::BucketBoundaries bounds(kDurationBuckets.begin(),
                                                       kDurationBuckets.end());
  std::vector<double> values{0, 0.001, 0.0075, 0.3, 1.84, 4.5, 59.9, 75, 1e300};
  for (double bound : kDurationBuckets) {  // every bound and its neighbours
    values.push_back(bound);
    values.push_back(std::nextafter(bound, 0.0));
    values.push_back(std::nextafter(bound, 100.0));
  }
  prometheus::Histogram fingerprint(bounds);
  prometheus::Histogram request(bounds);
  std::deque<prometheus::Histogram> db;  // neither copyable nor movable
  for (int i = 0; i < 4; ++i)
    db.emplace_back(bounds);
  std::vector<Observation> batch;
  for (double v : values) {
    fingerprint.Observe(v);
    batch.push_back(obs(Kind::FingerprintGeneration, v));
    request.Observe(v * 2);
    batch.push_back(api("/identify", "POST", "200", v * 2));
    db[2].Observe(v / 10);
    batch.push_back(obs(Kind::DbQuery, v / 10, {"delete"}));
  }
  Store store;
  REQUIRE_FALSE(store.apply(Transport::Http, batch));
  const std::string text = text_of(store);

  auto expect =
      [&](const std::string& name,
          std::vector<std::pair<prometheus::ClientMetric, prometheus::ClientMetric::Label>> series,
          std::vector<prometheus::ClientMetric::Label> shared = {}) {
        prometheus::MetricFamily family{
            name, help_of(text, name), prometheus::MetricType::Histogram, {}};
        for (auto& [metric, label] : series) {
          metric.label = shared;
          if (!label.name.empty()) metric.label.push_back(label);
          family.metric.push_back(metric);
        }
        INFO(name);
        CHECK(family_block(text, name) == prometheus::TextSerializer().Serialize({family}));
      };
  expect(kFingerprint, {{fingerprint.Collect(), {}}});
  expect(kApi, {{request.Collect(), {}}},
         {{"endpoint", "/identify"}, {"method", "POST"}, {"status", "200"}});
  expect(kDb, {{db[0].Collect(), {"operation", "lookup"}},
               {db[1].Collect(), {"operation", "insert"}},
               {db[2].Collect(), {"operation", "delete"}},
               {db[3].Collect(), {"operation", "other"}}});
}

TEST_CASE("pipeline store: concurrent batches add up exactly", "[pipeline][store][concurrency]") {
  Store store;
  constexpr int kThreads = 4;
  constexpr int kBatches = 480;  // 20 rounds over 24 endpoints
  std::vector<Observation> batch{
      obs(Kind::FingerprintGeneration, 0.5),   api("/identify", "POST", "200", 1),
      api("/identify", "POST", "500", 2),      obs(Kind::DbQuery, 0.25, {"lookup"}),
      obs(Kind::Identification, 1, {"match"}), obs(Kind::AudioProcessed, 10),
      obs(Kind::FingerprintHashes, 4919),      api("/replaced by each thread")};
  std::atomic<bool> done{false};
  std::atomic<int> scrapes{0};
  std::atomic<int> inconsistent{0};
  std::thread scraper([&] {
    // Every snapshot is consistent: _count equals the +Inf bucket at any moment. (Catch
    // assertions are for the main thread only.)
    do {
      auto samples = scrape(store);
      double count = value(samples, "afp_fingerprint_generation_seconds_count");
      double inf = value(samples, "afp_fingerprint_generation_seconds_bucket", {{"le", "+Inf"}});
      if (count != inf) inconsistent.fetch_add(1);
      scrapes.fetch_add(1);
    } while (!done.load());
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      // New series (24 endpoints per thread, 97 with /identify: the cap is 100) appear while
      // the scraper reads: write() formats their interned labels outside the lock.
      std::vector<Observation> mine = batch;
      for (int i = 0; i < kBatches; ++i) {
        std::string endpoint = "/t" + std::to_string(t) + "/" + std::to_string(i % 24);
        mine.back() = api(endpoint, "GET", "200", 0.01);
        if (t % 2 == 0) {
          store.apply(Transport::Http, mine);
        } else {
          store.apply_each(Transport::Statsd, mine);
        }
      }
    });
  }
  for (auto& w : writers)
    w.join();
  done = true;
  scraper.join();

  constexpr double n = kThreads * kBatches;
  auto samples = scrape(store);
  CHECK(value(samples, "afp_fingerprint_generation_seconds_count") == n);
  CHECK(value(samples, "afp_fingerprint_generation_seconds_sum") == n * 0.5);
  CHECK(value(samples, "afp_api_request_duration_seconds_count", {{"status", "200"}}) == n);
  CHECK(value(samples, "afp_api_request_duration_seconds_sum", {{"status", "500"}}) == n * 2);
  CHECK(value(samples, "afp_db_query_duration_seconds_bucket",
              {{"operation", "lookup"}, {"le", "0.25"}}) == n);
  CHECK(value(samples, "afp_identifications_total", {{"result", "match"}}) == n);
  CHECK(value(samples, "afp_audio_processed_seconds_total") == n * 10);
  CHECK(value(samples, "afp_fingerprint_hashes_total") == n * 4919);
  auto per_endpoint = find_samples(samples, "afp_api_request_duration_seconds_count",
                                   {{"method", "GET"}, {"status", "200"}});
  REQUIRE(per_endpoint.size() == kThreads * 24);
  for (const Sample* s : per_endpoint)
    CHECK(s->value == kBatches / 24);
  CHECK(value(samples, kAccepted, {{"transport", "http"}}) ==
        n / 2 * static_cast<double>(batch.size()));
  CHECK(value(samples, kAccepted, {{"transport", "statsd"}}) ==
        n / 2 * static_cast<double>(batch.size()));
  CHECK(scrapes.load() > 0);
  CHECK(inconsistent.load() == 0);
}

}  // namespace
