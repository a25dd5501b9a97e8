// Fault switches without a database: spec parsing and its errors, the admin request's
// specs, and the switches that need no SQL (slow-fingerprint, errors, cpu, slow-api,
// probe-unreachable's switch); drop-index, db-stall, dead-rows and stale-stats against an
// unreachable server fail cleanly or stop cleanly.
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "admin_request.h"
#include "faults.h"

using namespace afp::workload;

namespace {

constexpr unsigned kThreads = 6;  // what "hardware concurrency" is in these tests
// Nothing listens on port 1: connecting fails at once.
const std::string kNowhere = "postgresql://afp@127.0.0.1:1/fingerprints?connect_timeout=2";

FaultSpec parse(const std::string& text) {
  return parse_fault_spec(text, kThreads);
}

std::string refusal(const std::string& text) {
  try {
    parse(text);
  } catch (const FaultSpecError& e) {
    return e.what();
  }
  return "";
}

struct Quiet {
  afp::log::Logger log{afp::log::Level::error, afp::log::Format::logfmt, [](std::string_view) {}};
};

}  // namespace

TEST_CASE("faults: specs name a fault and its value, with defaults", "[faults]") {
  using A = FaultSpec::Action;
  struct Case {
    std::string text;
    A action;
    FaultName name;
    double value;
  };
  const std::vector<Case> cases{
      {"slow-fingerprint", A::Set, FaultName::SlowFingerprint, kDefaultFingerprintSeconds},
      {"slow-fingerprint=3", A::Set, FaultName::SlowFingerprint, 3},
      {"slow-fingerprint=0.1", A::Set, FaultName::SlowFingerprint, 0.1},
      {"slow-fingerprint=60", A::Set, FaultName::SlowFingerprint, 60},
      {"slow-fingerprint=2.5", A::Set, FaultName::SlowFingerprint, 2.5},
      {"drop-index", A::Set, FaultName::DropIndex, 0},
      {"db-stall", A::Set, FaultName::DbStall, kDefaultStallSeconds},
      {"db-stall=0.5", A::Set, FaultName::DbStall, 0.5},
      {"db-stall=3600", A::Set, FaultName::DbStall, 3600},
      {"cpu", A::Set, FaultName::Cpu, kThreads},
      {"cpu=2", A::Set, FaultName::Cpu, 2},
      {"errors", A::Set, FaultName::Errors, kDefaultErrorRatio},
      {"errors=0", A::Set, FaultName::Errors, 0},
      {"errors=1", A::Set, FaultName::Errors, 1},
      {"errors=0.25", A::Set, FaultName::Errors, 0.25},
      {"slow-api", A::Set, FaultName::SlowApi, 6},
      {"slow-api=0.1", A::Set, FaultName::SlowApi, 0.1},
      {"slow-api=60", A::Set, FaultName::SlowApi, 60},
      {"memory", A::Set, FaultName::Memory, 0.85},
      {"memory=0.1", A::Set, FaultName::Memory, 0.1},
      {"memory=0.97", A::Set, FaultName::Memory, 0.97},
      {"dead-rows", A::Set, FaultName::DeadRows, 0.5},
      {"dead-rows=1", A::Set, FaultName::DeadRows, 1},
      {"dead-rows=0.01", A::Set, FaultName::DeadRows, 0.01},
      {"stale-stats", A::Set, FaultName::StaleStats, 0.2},
      {"stale-stats=0.5", A::Set, FaultName::StaleStats, 0.5},
      {"probe-unreachable", A::Set, FaultName::ProbeUnreachable, 0},
      {"clear=probe-unreachable", A::Clear, FaultName::ProbeUnreachable, 0},
      {"clear=memory", A::Clear, FaultName::Memory, 0},
      {"clear=db-stall", A::Clear, FaultName::DbStall, 0},
      {"clear=drop-index", A::Clear, FaultName::DropIndex, 0},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto spec = parse(c.text);
    CHECK(spec.action == c.action);
    CHECK(spec.name == c.name);
    CHECK(spec.value == c.value);
  }
  CHECK(parse("clear").action == A::ClearAll);
  CHECK(parse_fault_spec("cpu", 0).value == 1);  // hardware_concurrency() may not know
}

TEST_CASE("faults: bad specs are refused, quoting the spec and saying why", "[faults]") {
  CHECK_THAT(refusal("slow"),
             Catch::Contains("fault \"slow\": unknown fault") &&
                 Catch::Contains("slow-fingerprint, drop-index, db-stall, cpu, errors, slow-api, "
                                 "memory, dead-rows, stale-stats, probe-unreachable"));
  CHECK_THAT(refusal(""), Catch::Contains("unknown fault"));
  CHECK_THAT(refusal("=3"), Catch::Contains("unknown fault"));
  CHECK_THAT(refusal("Drop-Index"), Catch::Contains("unknown fault"));
  CHECK_THAT(refusal("drop-index=1"), Catch::Contains("takes no value"));
  CHECK_THAT(refusal("drop-index="), Catch::Contains("takes no value"));
  CHECK_THAT(refusal("probe-unreachable=1"),
             Catch::Contains("fault \"probe-unreachable=1\": probe-unreachable takes no value"));
  CHECK_THAT(refusal("clear=everything"), Catch::Contains("clear what?"));
  CHECK_THAT(refusal("clear="), Catch::Contains("clear what?"));
  for (const char* bad : {"slow-fingerprint=0.05", "slow-fingerprint=61", "slow-fingerprint=x",
                          "slow-fingerprint=", "slow-fingerprint=nan", "slow-fingerprint=inf"}) {
    CHECK_THAT(refusal(bad), Catch::Contains("seconds from 0.1 to 60"));
  }
  for (const char* bad : {"db-stall=0", "db-stall=-1", "db-stall=3601", "db-stall=5s"}) {
    CHECK_THAT(refusal(bad), Catch::Contains("seconds, above 0"));
  }
  for (const char* bad : {"cpu=0", "cpu=1.5", "cpu=1025", "cpu=two", "cpu=-1"}) {
    CHECK_THAT(refusal(bad), Catch::Contains("a thread count from 1 to 1024"));
  }
  for (const char* bad : {"errors=1.01", "errors=-0.1", "errors=50%", "errors= 0.5"}) {
    CHECK_THAT(refusal(bad), Catch::Contains("a ratio from 0 to 1"));
  }
  for (const char* bad :
       {"slow-api=0", "slow-api=0.09", "slow-api=61", "slow-api=6s", "slow-api=", "slow-api=inf"}) {
    CHECK_THAT(refusal(bad), Catch::Contains("fault \"" + std::string(bad) + "\"") &&
                                 Catch::Contains("seconds from 0.1 to 60"));
  }
  for (const char* bad : {"memory=0.98", "memory=1", "memory=0.05", "memory=85%", "memory=-1"}) {
    CHECK_THAT(refusal(bad), Catch::Contains("fault \"" + std::string(bad) + "\"") &&
                                 Catch::Contains("a ratio from 0.1 to 0.97"));
  }
  for (const char* bad : {"dead-rows=0", "dead-rows=1.5", "dead-rows=half", "stale-stats=0",
                          "stale-stats=2", "stale-stats=nan"}) {
    CHECK_THAT(refusal(bad), Catch::Contains("fault \"" + std::string(bad) + "\"") &&
                                 Catch::Contains("a ratio from 0.01 to 1"));
  }
}

TEST_CASE("faults: an admin request's specs come from its query and its body", "[faults]") {
  auto specs = fault_specs_of_request("drop-index&errors=0.5&slow-fingerprint%3D3",
                                      "# a comment\r\n\r\n  db-stall=2  \r\nclear=cpu", kThreads);
  REQUIRE(specs.size() == 5);
  CHECK(specs[0].name == FaultName::DropIndex);
  CHECK(specs[1].name == FaultName::Errors);
  CHECK(specs[1].value == 0.5);
  CHECK(specs[2].name == FaultName::SlowFingerprint);
  CHECK(specs[2].value == 3);
  CHECK(specs[3].name == FaultName::DbStall);
  CHECK(specs[3].value == 2);
  CHECK(specs[4].action == FaultSpec::Action::Clear);
  CHECK(specs[4].name == FaultName::Cpu);

  CHECK(fault_specs_of_request("", "clear", kThreads).size() == 1);
  CHECK_THROWS_WITH(fault_specs_of_request("", "", kThreads), Catch::Contains("no fault given"));
  CHECK_THROWS_WITH(fault_specs_of_request("&&", "\n# nothing\n", kThreads),
                    Catch::Contains("no fault given"));
  CHECK_THROWS_WITH(fault_specs_of_request("drop-index&bogus=1", "", kThreads),
                    Catch::Contains("fault \"bogus=1\""));
  CHECK_THROWS_WITH(fault_specs_of_request("", "cpu=2\nerrors=2", kThreads),
                    Catch::Contains("fault \"errors=2\""));
  CHECK_THROWS_WITH(fault_specs_of_request("errors=%zz", "", kThreads),
                    Catch::Contains("bad %-escape"));
  CHECK_THROWS_WITH(fault_specs_of_request("errors=0.5%", "", kThreads),
                    Catch::Contains("bad %-escape"));
}

TEST_CASE("faults: slow-fingerprint and errors switch on and off", "[faults]") {
  Quiet q;
  Faults faults(kNowhere, q.log);
  CHECK(faults.fingerprint_seconds() == 0);
  CHECK_FALSE(faults.fail_this_request());

  faults.apply(parse("slow-fingerprint=4"));
  CHECK(faults.fingerprint_seconds() == 4);

  faults.apply(parse("errors=1"));
  for (int i = 0; i < 5; ++i)
    CHECK(faults.fail_this_request());

  faults.apply(parse("errors=0.5"));
  std::vector<bool> half;
  for (int i = 0; i < 6; ++i)
    half.push_back(faults.fail_this_request());
  CHECK(half == std::vector<bool>{false, true, false, true, false, true});

  faults.apply(parse("errors=0.25"));
  int failed = 0;
  for (int i = 0; i < 400; ++i)
    failed += faults.fail_this_request() ? 1 : 0;
  CHECK(failed == 100);

  faults.apply(parse("clear=errors"));
  CHECK_FALSE(faults.fail_this_request());
  CHECK(faults.fingerprint_seconds() == 4);
  faults.apply(parse("clear"));
  CHECK(faults.fingerprint_seconds() == 0);
}

TEST_CASE("faults: the state reads as JSON, off as false", "[faults]") {
  Quiet q;
  Faults faults(kNowhere, q.log);
  CHECK(
      faults.state_json().dump() ==
      R"({"slow-fingerprint":false,"drop-index":false,"db-stall":false,"cpu":false,"errors":false,)"
      R"("slow-api":false,"memory":false,"dead-rows":false,"stale-stats":false,)"
      R"("probe-unreachable":false})");
  faults.apply(
      {parse("slow-fingerprint=3"), parse("errors=0.25"), parse("cpu=1"), parse("slow-api=2")});
  CHECK(faults.state_json().dump() ==
        R"({"slow-fingerprint":3.0,"drop-index":false,"db-stall":false,"cpu":1,"errors":0.25,)"
        R"("slow-api":2.0,"memory":false,"dead-rows":false,"stale-stats":false,)"
        R"("probe-unreachable":false})");
  CHECK(faults.state().cpu_threads == 1);
  faults.apply(parse("clear=cpu"));
  CHECK(faults.state().cpu_threads == 0);
  faults.apply(parse("cpu=2"));
  faults.apply(parse("cpu=1"));  // replaces the two threads
  CHECK(faults.state().cpu_threads == 1);
  faults.apply(parse("clear"));
  CHECK(
      faults.state_json().dump() ==
      R"({"slow-fingerprint":false,"drop-index":false,"db-stall":false,"cpu":false,"errors":false,)"
      R"("slow-api":false,"memory":false,"dead-rows":false,"stale-stats":false,)"
      R"("probe-unreachable":false})");
}

TEST_CASE("faults: a database fault without a database fails and changes nothing", "[faults]") {
  Quiet q;
  Faults faults(kNowhere, q.log);
  CHECK_THROWS_WITH(faults.apply(parse("drop-index")), Catch::StartsWith("drop-index: "));
  CHECK_FALSE(faults.state().drop_index);

  // The stall's session cannot connect; it keeps trying until cleared, and clearing (or
  // shutting down) ends it at once.
  faults.apply(parse("db-stall=30"));
  CHECK(faults.state().stall_seconds == 30);
  faults.apply(parse("clear=db-stall"));
  CHECK(faults.state().stall_seconds == 0);
  faults.apply(parse("db-stall=30"));
  faults.stop();
  CHECK(faults.state().stall_seconds == 0);
}

TEST_CASE("faults: dead-rows and stale-stats without a database fail and change nothing",
          "[faults]") {
  Quiet q;
  Faults faults(kNowhere, q.log);
  CHECK_THROWS_WITH(faults.apply(parse("dead-rows")), Catch::StartsWith("dead-rows: "));
  CHECK_THROWS_WITH(faults.apply(parse("stale-stats=0.3")), Catch::StartsWith("stale-stats: "));
  CHECK(faults.state().dead_row_ratio == 0);
  CHECK(faults.state().stale_row_ratio == 0);
  faults.apply(parse("clear"));  // nothing on: no SQL to fail
}

TEST_CASE("faults: slow-api holds answers for its seconds, and clearing lets them go", "[faults]") {
  Quiet q;
  Faults faults(kNowhere, q.log);
  using Clock = std::chrono::steady_clock;
  auto held_for = [&](int max_held) {
    auto start = Clock::now();
    bool held = faults.hold_answer(max_held);
    return std::make_pair(held, std::chrono::duration<double>(Clock::now() - start).count());
  };
  CHECK_FALSE(held_for(8).first);  // off

  faults.apply(parse("slow-api=0.3"));
  auto [held, seconds] = held_for(8);
  CHECK(held);
  CHECK(seconds >= 0.3);
  CHECK(seconds < 5);
  CHECK_FALSE(held_for(0).first);  // the cap reached: at once

  faults.apply(parse("slow-api=60"));
  auto waiting = std::async(std::launch::async, [&] { return held_for(1); });
  auto until = Clock::now() + std::chrono::seconds(30);
  while (faults.answers_held() == 0 && Clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(faults.answers_held() == 1);
  // The first answer takes the only place; a second goes out at once.
  auto second = held_for(1);
  CHECK_FALSE(second.first);
  CHECK(second.second < 1);
  faults.apply(parse("clear=slow-api"));
  auto first = waiting.get();
  CHECK(first.first);
  CHECK(first.second < 30);

  faults.apply(parse("slow-api=60"));
  auto stopped = std::async(std::launch::async, [&] { return held_for(8); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  faults.stop();  // shutdown does not wait out a minute
  CHECK(stopped.get().second < 30);
  CHECK(faults.state().api_delay_seconds == 0);
}

TEST_CASE("faults: probe-unreachable needs a probe switch, and flips it", "[faults]") {
  Quiet q;
  Faults faults(kNowhere, q.log);
  CHECK_THROWS_AS(faults.apply(parse("probe-unreachable")), FaultUnavailable);
  CHECK_THROWS_WITH(faults.apply(parse("probe-unreachable")),
                    Catch::Contains("no probe listener") && Catch::Contains("--probe-listen"));
  CHECK_FALSE(faults.state().probe_unreachable);
  faults.apply(parse("clear"));

  std::vector<bool> flips;
  faults.set_probe_switch([&](bool reachable) { flips.push_back(reachable); });
  faults.apply(parse("probe-unreachable"));
  CHECK(faults.state().probe_unreachable);
  faults.apply(parse("probe-unreachable"));  // closed already
  faults.apply(parse("clear=probe-unreachable"));
  CHECK_FALSE(faults.state().probe_unreachable);
  faults.apply(parse("clear=probe-unreachable"));  // open already
  faults.apply(parse("probe-unreachable"));
  faults.apply(parse("clear"));
  CHECK(flips == std::vector<bool>{false, true, false, true});

  // A listener that cannot open again leaves the fault on, saying why.
  faults.set_probe_switch([](bool reachable) {
    if (reachable) throw FaultError("the probe listener cannot open again: port taken");
  });
  faults.apply(parse("probe-unreachable"));
  CHECK_THROWS_WITH(faults.apply(parse("clear=probe-unreachable")), Catch::Contains("port taken"));
  CHECK(faults.state().probe_unreachable);
  faults.set_probe_switch(nullptr);
}
