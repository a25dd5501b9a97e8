// The HTTP ingest body parser: valid bodies, every kind of malformed one, every truncation,
// hostile inputs, and random mutations cross-checked against nlohmann's RFC 8259 parser.

#include "pipeline/batch_parser.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "metrics/text_parser.h"
#include "metrics/text_writer.h"
#include "pipeline/store.h"

namespace {

using afp::pipeline::BatchError;
using afp::pipeline::BatchLimits;
using afp::pipeline::Kind;
using afp::pipeline::Observation;
using afp::pipeline::parse_batch;
using afp::pipeline::Reject;

// A parse whose results stay in place, so that label views into the scratch stay valid.
struct Parsed {
  explicit Parsed(std::string_view body, BatchLimits limits = {}) {
    error = parse_batch(body, limits, out, scratch);
  }
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;

  std::optional<BatchError> error;
  std::vector<Observation> out;
  std::deque<std::string> scratch;
};

std::string body_of(const std::string& items) {
  return "{\"observations\":[" + items + "]}";
}

std::string seconds_body(const std::string& number) {
  return body_of(R"({"metric":"fingerprint_generation","seconds":)" + number + "}");
}

const std::string kDesignExample = R"({"observations": [
  {"metric": "fingerprint_generation", "seconds": 1.84},
  {"metric": "api_request", "seconds": 2.31,
   "labels": {"endpoint": "/identify", "method": "POST", "status": "200"}},
  {"metric": "db_query", "seconds": 0.041, "labels": {"operation": "lookup"}},
  {"metric": "identification", "labels": {"result": "match"}},
  {"metric": "audio_processed", "seconds": 10.0},
  {"metric": "fingerprint_hashes", "count": 4919}
]})";

struct Expected {
  Kind kind;
  double value;
  std::vector<std::string> labels;
};

void check_observations(const Parsed& p, const std::vector<Expected>& expected) {
  REQUIRE(p.out.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("observation " << i);
    const Observation& o = p.out[i];
    CHECK(o.kind == expected[i].kind);
    CHECK(o.value == expected[i].value);
    CHECK(o.weight == 1);
    for (std::size_t l = 0; l < o.labels.size(); ++l) {
      std::string want = l < expected[i].labels.size() ? expected[i].labels[l] : "";
      CHECK(std::string(o.labels[l]) == want);
    }
  }
}

TEST_CASE("batch parser: the README's example", "[pipeline][batch_parser]") {
  Parsed p(kDesignExample);
  REQUIRE_FALSE(p.error);
  check_observations(p, {{Kind::FingerprintGeneration, 1.84, {}},
                         {Kind::ApiRequest, 2.31, {"/identify", "POST", "200"}},
                         {Kind::DbQuery, 0.041, {"lookup"}},
                         {Kind::Identification, 1, {"match"}},
                         {Kind::AudioProcessed, 10, {}},
                         {Kind::FingerprintHashes, 4919, {}}});
  CHECK(p.scratch.empty());  // no escapes: every label is a view into the body
}

TEST_CASE("batch parser: valid bodies", "[pipeline][batch_parser]") {
  struct Case {
    std::string body;
    std::vector<Expected> expected;
  };
  std::vector<Case> cases{
      {R"({"observations":[]})", {}},
      {R"({"observations":[],"version":1})", {}},
      {R"({"version":1,"observations":[]})", {}},
      {R"({"version":1.0e0,"observations":[]})", {}},
      {" \t\r\n{ \t\r\n\"observations\" \t\r\n: \t\r\n[ \t\r\n] \t\r\n} \t\r\n", {}},
      {" {\n \"observations\" : [ { \"seconds\" : 3 , \"metric\" : \"db_query\" , \"labels\" : "
       "{ \"operation\" : \"other\" } } , {\"metric\":\"fingerprint_generation\",\"seconds\":0}"
       " ] } ",
       {{Kind::DbQuery, 3, {"other"}}, {Kind::FingerprintGeneration, 0, {}}}},
      {body_of(R"({"labels":{"status":"404","endpoint":"/x","method":"GET"},"seconds":1e-3,)"
               R"("metric":"api_request"})"),
       {{Kind::ApiRequest, 0.001, {"/x", "GET", "404"}}}},
      {body_of(R"({"metric":"fingerprint_generation","seconds":-0})"),
       {{Kind::FingerprintGeneration, 0, {}}}},
      {body_of(R"({"metric":"fingerprint_generation","seconds":0.0E+0})"),
       {{Kind::FingerprintGeneration, 0, {}}}},
      {body_of(R"({"metric":"fingerprint_generation","seconds":1e-400})"),  // underflows to 0
       {{Kind::FingerprintGeneration, 0, {}}}},
      {body_of(R"({"metric":"fingerprint_generation","seconds":1.7976931348623157e308})"),
       {{Kind::FingerprintGeneration, 1.7976931348623157e308, {}}}},
      {body_of(R"({"metric":"audio_processed","seconds":12.5,"labels":{}})"),
       {{Kind::AudioProcessed, 12.5, {}}}},
      {body_of(R"({"metric":"fingerprint_hashes","count":0})"), {{Kind::FingerprintHashes, 0, {}}}},
      {body_of(R"({"metric":"fingerprint_hashes","count":9007199254740992})"),
       {{Kind::FingerprintHashes, 9007199254740992.0, {}}}},
      {body_of(R"({"metric":"fingerprint_hashes","count":4919.0})"),
       {{Kind::FingerprintHashes, 4919, {}}}},
      {body_of(R"({"metric":"fingerprint_hashes","count":1e3})"),
       {{Kind::FingerprintHashes, 1000, {}}}},
      {body_of(R"({"metric":"identification","labels":{"result":"no_match"}})"),
       {{Kind::Identification, 1, {"no_match"}}}},
      // Escapes, in keys as well as values, decode before they are compared.
      {body_of(R"({"metr\u0069c":"identific\u0061tion","l\u0061bels":{"\u0072esult":"error"}})"),
       {{Kind::Identification, 1, {"error"}}}},
      {body_of(R"({"metric":"api_request","seconds":1,"labels":{"endpoint":"\/identify)"
               R"(\"q\"\\\b\f\n\r\t","method":"POST","status":"200"}})"),
       {{Kind::ApiRequest, 1, {"/identify\"q\"\\\b\f\n\r\t", "POST", "200"}}}},
      {body_of(R"({"metric":"api_request","seconds":1,"labels":{"endpoint":"\u00e9\u65e5)"
               R"(\ud83c\udfb5\uDBFF\uDFFF","method":"POST","status":"200"}})"),
       {{Kind::ApiRequest, 1, {"é日🎵\xf4\x8f\xbf\xbf", "POST", "200"}}}},
      {body_of("{\"metric\":\"api_request\",\"seconds\":1,\"labels\":{\"endpoint\":\"é日🎵\x7f\","
               "\"method\":\"POST\",\"status\":\"200\"}}"),
       {{Kind::ApiRequest, 1, {"é日🎵\x7f", "POST", "200"}}}},
      // JSON can carry U+0000; the Store takes any valid UTF-8 as an endpoint.
      {body_of(R"({"metric":"api_request","seconds":1,"labels":{"endpoint":"a\u0000b",)"
               R"("method":"POST","status":"200"}})"),
       {{Kind::ApiRequest, 1, {std::string("a\0b", 3), "POST", "200"}}}},
      // Label values are only the parser's business for their length; the Store judges them.
      {body_of(R"({"metric":"db_query","seconds":1,"labels":{"operation":""}})"),
       {{Kind::DbQuery, 1, {""}}}},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    Parsed p(c.body);
    if (p.error) FAIL(p.error->message);
    check_observations(p, c.expected);
  }
}

TEST_CASE("batch parser: label length counts decoded bytes", "[pipeline][batch_parser]") {
  auto body = [](const std::string& endpoint) {
    return body_of(R"({"metric":"api_request","seconds":1,"labels":{"endpoint":")" + endpoint +
                   R"(","method":"GET","status":"200"}})");
  };
  CHECK_FALSE(Parsed(body(std::string(128, 'x'))).error);
  std::string escaped;
  for (int i = 0; i < 128; ++i)
    escaped += "\\u0078";  // 768 bytes in the body, 128 decoded
  Parsed p(body(escaped));
  REQUIRE_FALSE(p.error);
  CHECK(p.out[0].labels[0] == std::string(128, 'x'));
  Parsed too_long(body(std::string(129, 'x')));
  REQUIRE(too_long.error);
  CHECK(too_long.error->reason == Reject::LabelTooLong);
  CHECK(too_long.error->message == "observations[0].labels.endpoint: longer than 128 bytes");
  // "é" is two bytes: 64 of them make 128 bytes, 65 make 130.
  std::string e64;
  for (int i = 0; i < 64; ++i)
    e64 += "é";
  CHECK_FALSE(Parsed(body(e64)).error);
  CHECK(Parsed(body(e64 + "é")).error);
  CHECK(Parsed(body(std::string(11, 'x')), BatchLimits{.max_label_value_length = 10}).error);
}

TEST_CASE("batch parser: views into the scratch survive its growth", "[pipeline][batch_parser]") {
  std::string items;
  std::vector<std::string> endpoints;
  for (int i = 0; i < 2000; ++i) {
    std::string e = "/a/rather/long/endpoint/path/that/defeats/sso/" + std::to_string(i);
    endpoints.push_back(e);
    std::string escaped = e;
    for (std::size_t at = escaped.find('/'); at != std::string::npos;
         at = escaped.find('/', at + 2))
      escaped.insert(at, "\\");
    items += (i ? "," : "") + std::string(R"({"metric":"api_request","seconds":1,"labels":)") +
             R"({"endpoint":")" + escaped + R"(","method":"GET","status":"200"}})";
  }
  Parsed p(body_of(items));
  REQUIRE_FALSE(p.error);
  REQUIRE(p.out.size() == endpoints.size());
  CHECK(p.scratch.size() == endpoints.size());
  for (std::size_t i = 0; i < endpoints.size(); ++i)
    REQUIRE(p.out[i].labels[0] == endpoints[i]);
}

TEST_CASE("batch parser: out and scratch are cleared first", "[pipeline][batch_parser]") {
  std::vector<Observation> out(3);
  std::deque<std::string> scratch{"stale"};
  CHECK_FALSE(parse_batch(R"({"observations":[]})", {}, out, scratch));
  CHECK(out.empty());
  CHECK(scratch.empty());
}

struct Bad {
  std::string body;
  Reject reason;
  std::optional<std::size_t> index;
  std::string message;  // a substring of the message; the whole one when it starts with '='
};

void check_bad(const std::vector<Bad>& cases, BatchLimits limits = {}) {
  for (const auto& c : cases) {
    INFO("body: " << (c.body.size() > 300 ? c.body.substr(0, 300) + "..." : c.body));
    Parsed p(c.body, limits);
    REQUIRE(p.error);
    INFO("message: " << p.error->message);
    CHECK(p.error->reason == c.reason);
    CHECK(p.error->index == c.index);
    if (!c.message.empty() && c.message[0] == '=') {
      CHECK(p.error->message == c.message.substr(1));
    } else {
      CHECK(p.error->message.find(c.message) != std::string::npos);
    }
    CHECK(p.error->message.size() < 200);
    CHECK(std::all_of(p.error->message.begin(), p.error->message.end(),
                      [](char ch) { return ch >= 0x20 && ch < 0x7f; }));
  }
}

constexpr Reject kMalformed = Reject::Malformed;

TEST_CASE("batch parser: malformed bodies", "[pipeline][batch_parser]") {
  check_bad({
      {"", kMalformed, {}, "=the body is empty"},
      {" \n\t\r", kMalformed, {}, "=the body is empty"},
      {"[]", kMalformed, {}, "=the body must be a JSON object"},
      {"null", kMalformed, {}, "JSON object"},
      {"\"observations\"", kMalformed, {}, "JSON object"},
      {"1", kMalformed, {}, "JSON object"},
      {"\xef\xbb\xbf{\"observations\":[]}", kMalformed, {}, "JSON object"},  // a BOM
      {"{}", kMalformed, {}, "=missing field \"observations\""},
      {R"({"version":1})", kMalformed, {}, "missing field \"observations\""},
      {R"({"observations":[]} x)",
       kMalformed,
       {},
       "=invalid JSON at byte 20: unexpected data after the JSON object"},
      {R"({"observations":[]}{})", kMalformed, {}, "unexpected data after the JSON object"},
      {std::string(R"({"observations":[]})") + '\0', kMalformed, {}, "unexpected data"},
      {R"({"observations":{}})", kMalformed, {}, "=observations: must be an array"},
      {R"({"observations":null})", kMalformed, {}, "observations: must be an array"},
      {R"({"observations":"[]"})", kMalformed, {}, "observations: must be an array"},
      {R"({"observations":[],"observations":[]})",
       kMalformed,
       {},
       "=duplicate field \"observations\""},
      {R"({"version":2,"observations":[]})", kMalformed, {}, "=version: must be 1"},
      {R"({"version":"1","observations":[]})", kMalformed, {}, "version: must be 1"},
      {R"({"version":1.5,"observations":[]})", kMalformed, {}, "version: must be 1"},
      {R"({"version":1,"version":1,"observations":[]})",
       kMalformed,
       {},
       "duplicate field \"version\""},
      {R"({"observation":[]})", kMalformed, {}, "=unknown field \"observation\""},
      {R"({"observations":[],"extra":{"deep":[1,2,3]}})",
       kMalformed,
       {},
       "unknown field \"extra\""},
      {R"({"observations":[],})", kMalformed, {}, "expected a string key"},
      {R"({,"observations":[]})", kMalformed, {}, "expected a string key"},
      {R"({"observations":[,]})", kMalformed, 0, "observations[0]: must be an object"},
      {R"({'observations':[]})", kMalformed, {}, "expected a string key"},
      {R"({observations:[]})", kMalformed, {}, "expected a string key"},
      {R"({"observations" []})", kMalformed, {}, "=invalid JSON at byte 16: expected ':'"},
      {R"({"observations":[] "version":1})", kMalformed, {}, "expected ',' or '}'"},
      {R"({"observations":[1]})", kMalformed, 0, "=observations[0]: must be an object"},
      {R"({"observations":[[]]})", kMalformed, 0, "observations[0]: must be an object"},
      {R"({"observations":[{"metric":"identification","labels":{"result":"match"}}{}]})",
       kMalformed, 0, "expected ',' or ']'"},
      {R"({"observations":[{"metric":"identification","labels":{"result":"match"}},]})", kMalformed,
       1, "observations[1]: must be an object"},
  });
}

TEST_CASE("batch parser: malformed observations name their place", "[pipeline][batch_parser]") {
  const std::string ok = R"({"metric":"fingerprint_generation","seconds":1},)";
  check_bad({
      {body_of(ok + ok + ok + R"({"metric":"fingerprint_generation","seconds":-1})"),
       Reject::InvalidValue, 3, "=observations[3].seconds: must be a finite number >= 0"},
      {body_of(R"({"seconds":1})"), kMalformed, 0, "=observations[0]: missing field \"metric\""},
      {body_of(R"({})"), kMalformed, 0, "missing field \"metric\""},
      {body_of(R"({"metric":1})"), kMalformed, 0, "=observations[0].metric: must be a string"},
      {body_of(R"({"metric":null})"), kMalformed, 0, "metric: must be a string"},
      {body_of(R"({"metric":"fingerprint"})"), Reject::UnknownMetric, 0,
       "=observations[0].metric: unknown metric \"fingerprint\""},
      {body_of(R"({"metric":"Fingerprint_Generation","seconds":1})"), Reject::UnknownMetric, 0,
       "unknown metric"},
      {body_of(R"({"metric":"afp_fingerprint_generation_seconds","seconds":1})"),
       Reject::UnknownMetric, 0, "unknown metric"},
      {body_of(R"({"metric":"fingerprint_generation","seconds":1,"extra":1})"), kMalformed, 0,
       "=observations[0]: unknown field \"extra\""},
      {body_of(R"({"metric":"fingerprint_generation","seconds":1,"weight":2})"), kMalformed, 0,
       "unknown field \"weight\""},
      {body_of(R"({"metric":"fingerprint_generation","seconds":1,"seconds":2})"), kMalformed, 0,
       "=observations[0]: duplicate field \"seconds\""},
      {body_of(R"({"metric":"fingerprint_generation","metric":"fingerprint_generation"})"),
       kMalformed, 0, "duplicate field \"metric\""},
      {body_of(R"({"metric":"fingerprint_generation","seconds":"1"})"), kMalformed, 0,
       "=observations[0].seconds: must be a number"},
      {body_of(R"({"metric":"fingerprint_generation","seconds":null})"), kMalformed, 0,
       "must be a number"},
      {body_of(R"({"metric":"fingerprint_generation","seconds":true})"), kMalformed, 0,
       "must be a number"},
      {body_of(R"({"metric":"fingerprint_generation","seconds":[1]})"), kMalformed, 0,
       "must be a number"},
      {body_of(R"({"metric":"fingerprint_generation","seconds":NaN})"), kMalformed, 0,
       "must be a number"},
      {body_of(R"({"metric":"fingerprint_generation","seconds":Infinity})"), kMalformed, 0,
       "must be a number"},
      {body_of(R"({"metric":"fingerprint_generation","seconds":-Infinity})"), kMalformed, 0,
       "expected a digit"},
      {body_of(R"({"metric":"fingerprint_generation","seconds":1e999})"), Reject::InvalidValue, 0,
       "must be a finite number >= 0"},
      {body_of(R"({"metric":"fingerprint_generation","seconds":-1e999})"), Reject::InvalidValue, 0,
       "must be a finite number >= 0"},
      {body_of(R"({"metric":"fingerprint_generation","seconds":-0.001})"), Reject::InvalidValue, 0,
       "must be a finite number >= 0"},
      {body_of(R"({"metric":"db_query","labels":{"operation":"lookup"}})"), kMalformed, 0,
       "=observations[0]: missing field \"seconds\""},
      {body_of(R"({"metric":"identification","seconds":1,"labels":{"result":"match"}})"),
       kMalformed, 0, "=observations[0].seconds: not a field of metric \"identification\""},
      {body_of(R"({"metric":"fingerprint_hashes","seconds":1,"count":1})"), kMalformed, 0,
       "seconds: not a field of metric \"fingerprint_hashes\""},
      {body_of(R"({"metric":"fingerprint_hashes"})"), kMalformed, 0, "missing field \"count\""},
      {body_of(R"({"metric":"fingerprint_generation","seconds":1,"count":1})"), kMalformed, 0,
       "=observations[0].count: not a field of metric \"fingerprint_generation\""},
      {body_of(R"({"metric":"identification","count":1,"labels":{"result":"match"}})"), kMalformed,
       0, "count: not a field"},
      {body_of(R"({"metric":"fingerprint_hashes","count":-1})"), Reject::InvalidValue, 0,
       "=observations[0].count: must be an integer from 0 to 9007199254740992"},
      {body_of(R"({"metric":"fingerprint_hashes","count":1.5})"), Reject::InvalidValue, 0,
       "count: must be an integer"},
      {body_of(R"({"metric":"fingerprint_hashes","count":9007199254740993})"), Reject::InvalidValue,
       0, "count: must be an integer"},
      {body_of(R"({"metric":"fingerprint_hashes","count":18446744073709551616})"),
       Reject::InvalidValue, 0, "count: must be an integer"},
      {body_of(R"({"metric":"fingerprint_hashes","count":1e300})"), Reject::InvalidValue, 0,
       "count: must be an integer"},
      {body_of(R"({"metric":"fingerprint_hashes","count":"5"})"), kMalformed, 0,
       "count: must be a number"},
      {body_of(R"({"metric":"db_query","seconds":1,"labels":[]})"), kMalformed, 0,
       "=observations[0].labels: must be an object"},
      {body_of(R"({"metric":"db_query","seconds":1,"labels":"operation=lookup"})"), kMalformed, 0,
       "labels: must be an object"},
      {body_of(R"({"metric":"db_query","seconds":1,"labels":{"operation":1}})"), kMalformed, 0,
       "=observations[0].labels.operation: must be a string"},
      {body_of(R"({"metric":"db_query","seconds":1,"labels":{"operation":null}})"), kMalformed, 0,
       "labels.operation: must be a string"},
      {body_of(R"({"metric":"db_query","seconds":1,"labels":{"operation":"a","operation":"b"}})"),
       kMalformed, 0, "=observations[0].labels.operation: duplicate label"},
      {body_of(R"({"metric":"db_query","seconds":1,"labels":{"table":"x"}})"), Reject::UnknownLabel,
       0, "=observations[0].labels: unknown label \"table\""},
      {body_of(R"({"metric":"db_query","seconds":1,"labels":{"operation":"lookup","result":"x"}})"),
       Reject::UnknownLabel, 0,
       "=observations[0].labels.result: not a label of metric \"db_query\""},
      {body_of(R"({"metric":"fingerprint_generation","seconds":1,"labels":{"endpoint":"/"}})"),
       Reject::UnknownLabel, 0, "not a label of metric \"fingerprint_generation\""},
      {body_of(R"({"metric":"api_request","seconds":1,"labels":{"endpoint":"/","method":"GET"}})"),
       Reject::MissingLabel, 0, "=observations[0].labels: missing label \"status\""},
      {body_of(R"({"metric":"api_request","seconds":1})"), Reject::MissingLabel, 0,
       "missing label \"endpoint\""},
      {body_of(R"({"metric":"identification"})"), Reject::MissingLabel, 0,
       "missing label \"result\""},
  });
}

TEST_CASE("batch parser: bad numbers, strings and escapes", "[pipeline][batch_parser]") {
  auto endpoint = [](const std::string& value) {
    return body_of(R"({"metric":"api_request","seconds":1,"labels":{"endpoint":")" + value +
                   R"(","method":"GET","status":"200"}})");
  };
  std::vector<Bad> cases;
  for (std::string n : {"01", "00", "-01", "1.", "1e", "1e+", "1E-", "-", "0x10", "1.0e", "1..2",
                        "1e1.5", "- 1", "1 2", "0.5.", "1_000", "1,"}) {
    cases.push_back({seconds_body(n), kMalformed, 0, "invalid JSON"});
  }
  for (std::string n : {".5", "+1", "\\u0031", "\"1\"", "\xd9\xa1"})
    cases.push_back({seconds_body(n), kMalformed, 0, "=observations[0].seconds: must be a number"});
  for (const std::string& s : std::vector<std::string>{
           "a\tb",                      // raw control characters
           "a\nb",                      //
           std::string("a\0b", 3),      //
           "\x1f",                      //
           "\\x41",                     // bad escapes
           "\\'",                       //
           "\\U0041",                   //
           "\\u12",                     //
           "\\u12G4",                   //
           "\\ud800",                   // lone surrogates
           "\\udc00",                   //
           "\\udfff\\ud800",            //
           "\\ud800\\u0041",            //
           "\\ud800\\ud800",            //
           "\\ud800x",                  //
           "\xc0\xaf",                  // overlong '/'
           "\xc1\xbf",                  //
           "\xe0\x80\xaf",              //
           "\xf0\x80\x80\xaf",          //
           "\xed\xa0\x80",              // a surrogate encoded in UTF-8
           "\xed\xbf\xbf",              //
           "\xf4\x90\x80\x80",          // above U+10FFFF
           "\xf5\x80\x80\x80",          //
           "\xf8\x88\x80\x80\x80",      // 5-byte form
           "\xfc\x84\x80\x80\x80\x80",  // 6-byte form
           "\x80",                      // lone continuation
           "\xbf",                      //
           "\xe6\x97",                  // truncated sequence
           "\xe6",                      //
           "\xc3(",                     //
           "\xff",                      //
           "\xfe",                      //
       }) {
    cases.push_back({endpoint(s), kMalformed, 0, "invalid JSON at byte"});
  }
  cases.push_back({"{\"observ\xff\"ations\":[]}", kMalformed, {}, "invalid UTF-8"});
  cases.push_back({"{\"observations\":[{\"metric\":\"identification\xe2\x80\"}]}", kMalformed, 0,
                   "invalid UTF-8"});
  check_bad(cases);
}

TEST_CASE("batch parser: too many items stops at the limit", "[pipeline][batch_parser]") {
  const std::string item = R"({"metric":"identification","labels":{"result":"match"}})";
  std::string three = item + "," + item + "," + item;
  BatchLimits limits{.max_items = 3};
  CHECK_FALSE(Parsed(body_of(three), limits).error);
  check_bad(
      {{body_of(three + "," + item), Reject::TooManyItems, {}, "=observations: more than 3 items"},
       // The scan stops at the fourth item: what follows it does not matter.
       {body_of(three + ",garbage"), Reject::TooManyItems, {}, "more than 3 items"},
       {"{\"observations\":[" + three + ",\xff", Reject::TooManyItems, {}, "more than 3"}},
      limits);

  std::string many;
  for (int i = 0; i <= 10000; ++i)
    many += (i ? "," : "") + item;
  Parsed p(body_of(many));
  REQUIRE(p.error);
  CHECK(p.error->reason == Reject::TooManyItems);
  CHECK(p.error->message == "observations: more than 10000 items");
  Parsed at_limit(body_of(many.substr(item.size() + 1)));
  REQUIRE_FALSE(at_limit.error);
  CHECK(at_limit.out.size() == 10000);
}

TEST_CASE("batch parser: hostile inputs are refused without harm", "[pipeline][batch_parser]") {
  const std::string deep(1'000'000, '[');
  const std::string braces(1'000'000, '{');
  const std::string mega(1'000'000, 'a');
  check_bad({
      {deep, kMalformed, {}, "JSON object"},
      {braces, kMalformed, {}, "expected a string key"},
      {R"({"observations":)" + deep, kMalformed, 0, "observations[0]: must be an object"},
      {R"({"observations":[)" + braces, kMalformed, 0, "expected a string key"},
      {R"({"observations":[{"metric":"fingerprint_generation","seconds":)" + deep, kMalformed, 0,
       "seconds: must be a number"},
      {R"({"observations":[{"metric":"db_query","seconds":1,"labels":{"operation":)" + braces,
       kMalformed, 0, "labels.operation: must be a string"},
      {R"({"observations":[{"metric":"db_query","seconds":1,"labels":)" + deep, kMalformed, 0,
       "labels: must be an object"},
      {R"({"observations":[{"x":)" + deep, kMalformed, 0, "unknown field \"x\""},
      {R"({"x":)" + braces, kMalformed, {}, "unknown field \"x\""},
      // Client strings are echoed only when short and printable.
      {body_of(R"({"metric":")" + mega + R"("})"), Reject::UnknownMetric, 0,
       "=observations[0].metric: unknown metric"},
      {body_of(R"({"metric":"\"\u0007"})"), Reject::UnknownMetric, 0,
       "=observations[0].metric: unknown metric"},
      {body_of(R"({")" + mega + R"(":1})"), kMalformed, 0, "=observations[0]: unknown field"},
      {R"({"observations":[{"metric":"api_request","seconds":1,"labels":{"endpoint":")" + mega +
           R"(","method":"GET","status":"200"}}]})",
       Reject::LabelTooLong, 0, "labels.endpoint: longer than 128 bytes"},
      {R"({"observations":[{"metric":"api_request","seconds":1,"labels":{"endpoint":")" + mega,
       kMalformed, 0, "the body ends early"},
      {seconds_body("1" + std::string(1'000'000, '0')), Reject::InvalidValue, 0, "finite"},
      {seconds_body("1e" + std::string(1'000'000, '9')), Reject::InvalidValue, 0, "finite"},
      {seconds_body("1e99999999999999999999"), Reject::InvalidValue, 0, "finite"},
      {body_of(std::string(1'000'000, ' ') + "1"), kMalformed, 0, "must be an object"},
  });
  // Extreme but valid: a tiny magnitude reads as 0, a long mantissa as its value.
  Parsed tiny(seconds_body("0." + std::string(100'000, '0') + "1"));
  REQUIRE_FALSE(tiny.error);
  CHECK(tiny.out[0].value == 0);
  Parsed negative_tiny(seconds_body("-0." + std::string(100'000, '0') + "1"));  // rounds to -0
  REQUIRE_FALSE(negative_tiny.error);
  CHECK(negative_tiny.out[0].value == 0);
  CHECK_FALSE(std::signbit(negative_tiny.out[0].value));
  Parsed tiny_exp(seconds_body("1e-99999999999999999999"));
  REQUIRE_FALSE(tiny_exp.error);
  CHECK(tiny_exp.out[0].value == 0);
  Parsed long_mantissa(seconds_body("1." + std::string(100'000, '0') + "1"));
  REQUIRE_FALSE(long_mantissa.error);
  CHECK(long_mantissa.out[0].value == 1);
  Parsed padded(std::string(1'000'000, ' ') + R"({"observations":[]})" +
                std::string(1'000'000, '\n'));
  CHECK_FALSE(padded.error);
}

// Every proper prefix of a valid body is invalid (none of these ends in whitespace), and
// must be refused cleanly.
TEST_CASE("batch parser: every truncation is refused", "[pipeline][batch_parser]") {
  const std::vector<std::string> bodies{
      kDesignExample,
      R"({"version":1,"observations":[{"metric":"api_request","seconds":1.5e-3,"labels":)"
      R"({"endpoint":"\/id\u00e9\ud83c\udfb5 日本","method":"POST","status":"200"}},)"
      R"({"metric":"fingerprint_hashes","count":-0},{"metric":"db_query","seconds":0,)"
      R"("labels":{"operation":"delete"}}]})",
      R"({"observations":[]})",
  };
  for (const auto& body : bodies) {
    REQUIRE_FALSE(Parsed(body).error);
    for (std::size_t n = 0; n < body.size(); ++n) {
      Parsed p(std::string_view(body).substr(0, n));
      if (!p.error) FAIL("prefix of " << n << " bytes accepted: " << body.substr(0, n));
      CHECK(p.error->reason == Reject::Malformed);
    }
  }
}

// Random byte-level mutations of valid bodies. Whatever nlohmann (a strict RFC 8259
// parser) refuses, parse_batch must refuse; whatever parse_batch accepts, nlohmann must
// read to the same observations.
TEST_CASE("batch parser: mutated bodies agree with nlohmann",
          "[pipeline][batch_parser][property]") {
  constexpr std::uint64_t kSeed = 0xafb0'1e57'0000'0001;
  INFO("std::mt19937_64 seed " << kSeed);
  std::mt19937_64 rng(kSeed);
  auto below = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  const std::vector<std::string> seeds{
      kDesignExample,
      R"({"observations":[{"metric":"api_request","seconds":0.25,"labels":{"endpoint":"\/a\u00e9",)"
      R"("method":"GET","status":"404"}},{"metric":"fingerprint_hashes","count":12}],"version":1})",
  };
  static constexpr std::string_view kAlphabet = "{}[]\",:\\ 0123456789-+.eEtrufalsn\xc3\xa9\xff";
  std::size_t accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string body = seeds[below(seeds.size())];
    for (std::size_t edits = 1 + below(3); edits > 0; --edits) {
      std::size_t at = below(body.size());
      char c = below(4) == 0 ? static_cast<char>(below(256)) : kAlphabet[below(kAlphabet.size())];
      switch (below(3)) {
        case 0:
          body[at] = c;
          break;
        case 1:
          body.insert(body.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          body.erase(at, 1 + below(3));
          break;
      }
    }
    Parsed p(body);
    bool json_ok = nlohmann::json::accept(body);
    if (!p.error) {
      INFO("accepted: " << body);
      REQUIRE(json_ok);
      ++accepted;
      auto json = nlohmann::json::parse(body);
      const auto& items = json.at("observations");
      REQUIRE(items.size() == p.out.size());
      for (std::size_t i = 0; i < p.out.size(); ++i) {
        const Observation& o = p.out[i];
        CHECK(afp::pipeline::wire_name(o.kind) == items[i].at("metric").get<std::string>());
        if (items[i].contains("seconds")) CHECK(o.value == items[i]["seconds"].get<double>());
        if (items[i].contains("count")) CHECK(o.value == items[i]["count"].get<double>());
        const auto& schema = afp::pipeline::label_schema(o.kind);
        for (std::size_t l = 0; l < schema.count; ++l) {
          CHECK(std::string(o.labels[l]) ==
                items[i].at("labels").at(std::string(schema.names[l])).get<std::string>());
        }
      }
    }
  }
  CHECK(accepted > 100);  // the mutations also explore the accepting side
}

TEST_CASE("batch parser: a parsed body applies to the Store", "[pipeline][batch_parser]") {
  Parsed p(kDesignExample);
  REQUIRE_FALSE(p.error);
  afp::pipeline::Store store;
  REQUIRE_FALSE(store.apply(afp::pipeline::Transport::Http, p.out));
  std::string text;
  afp::metrics::TextWriter out(text);
  store.write(out);
  auto samples = afp::metrics::parse_text(text);
  auto value = [&](std::string_view name, afp::metrics::LabelMatch labels = {}) {
    const auto* s = afp::metrics::find_sample(samples, name, labels);
    return s ? s->value : -1;
  };
  CHECK(value("afp_fingerprint_generation_seconds_sum") == 1.84);
  CHECK(value("afp_api_request_duration_seconds_count",
              {{"endpoint", "/identify"}, {"method", "POST"}, {"status", "200"}}) == 1);
  CHECK(value("afp_db_query_duration_seconds_bucket", {{"operation", "lookup"}, {"le", "0.05"}}) ==
        1);
  CHECK(value("afp_identifications_total", {{"result", "match"}}) == 1);
  CHECK(value("afp_audio_processed_seconds_total") == 10);
  CHECK(value("afp_fingerprint_hashes_total") == 4919);
  CHECK(value("afp_ingest_observations_total", {{"transport", "http"}}) == 6);
}

}  // namespace
