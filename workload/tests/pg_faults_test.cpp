// afp_workload's faults against the test cluster (CTest fixture "pg"): each fault does
// what it says in the database, the API or the probe listener, and clearing undoes it.

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "http/server.h"
#include "pg_service_support.h"

using namespace afp;
using namespace afp::workload;
using namespace afp::workload::service_test;

TEST_CASE("faults: drop-index drops the hash index and clearing rebuilds it", "[faults]") {
  Workload w(dsn());
  test::AdminSession admin(kDatabase);
  REQUIRE(index_exists(admin));
  auto set = w.fault("drop-index");
  REQUIRE(set.status == 200);
  CHECK(json_of(set)["drop-index"] == true);
  CHECK_FALSE(index_exists(admin));

  auto reply = w.post("/identify", clip_wav(7, 1.0));  // a sequential scan still finds it
  REQUIRE(reply.status == 200);
  CHECK(json_of(reply)["song_name"] == "synthetic-7");

  auto cleared = w.fault("clear=drop-index");
  REQUIRE(cleared.status == 200);
  CHECK(json_of(cleared)["drop-index"] == false);
  CHECK(index_exists(admin));
}

TEST_CASE("faults: errors=1 answers every identification 500", "[faults]") {
  Workload w(dsn());
  REQUIRE(w.fault("errors=1").status == 200);
  auto wav = clip_wav(2, 1.0);
  for (int i = 0; i < 3; ++i) {
    auto reply = w.post("/identify", wav);
    CHECK(reply.status == 500);
    CHECK_THAT(json_of(reply)["error"].get<std::string>(), Catch::Contains("errors fault"));
  }
  REQUIRE(w.post("/admin/faults", "clear=errors\n", {"Content-Type: text/plain"}).status == 200);
  CHECK(w.post("/identify", wav).status == 200);
  w.reporter.stop();
  CHECK(w.recorded->count(pipeline::Kind::ApiRequest, "500") == 3);
  CHECK(w.recorded->count(pipeline::Kind::Identification, "error") == 3);
  CHECK(w.recorded->count(pipeline::Kind::Identification, "match") == 1);
  auto stats = json_of(w.get("/stats"));
  CHECK(stats["errors"] == 3);
  CHECK(stats["requests"]["500"] == 3);
}

TEST_CASE("faults: a look-up waits while db-stall holds the lock", "[faults]") {
  Workload w(dsn());
  test::AdminSession admin(kDatabase);
  REQUIRE(w.fault("db-stall=600").status == 200);
  REQUIRE(eventually([&] {
    return admin.exists(
        "EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE "
        "c.relname = 'fingerprints' AND l.mode = 'AccessExclusiveLock' AND l.granted)");
  }));
  auto wav = clip_wav(5, 2.0);
  auto identified = std::async(std::launch::async, [&] { return w.post("/identify", wav); });
  REQUIRE(eventually([&] {
    return admin.exists(
        "EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND "
        "wait_event_type = 'Lock' AND query LIKE 'SELECT hash, song_id%')");
  }));
  // The look-up is queued behind the lock: the request cannot have been answered.
  CHECK(identified.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);

  auto cleared = w.fault("clear=db-stall");
  REQUIRE(cleared.status == 200);
  CHECK(json_of(cleared)["db-stall"] == false);
  auto reply = identified.get();
  REQUIRE(reply.status == 200);
  CHECK(json_of(reply)["song_name"] == "synthetic-5");
}

namespace {

struct TableStats {
  double live = 0, dead = 0, modified = 0;
};

TableStats fingerprint_stats(test::AdminSession& admin) {
  auto r = admin.sql(
      "SELECT n_live_tup, n_dead_tup, n_mod_since_analyze FROM pg_stat_user_tables WHERE "
      "relname = 'fingerprints'");
  return {std::stod(std::string(r.value(0, 0))), std::stod(std::string(r.value(0, 1))),
          std::stod(std::string(r.value(0, 2)))};
}

bool autovacuum_off(test::AdminSession& admin) {
  return admin.exists(
      "EXISTS (SELECT 1 FROM pg_class WHERE relname = 'fingerprints' AND "
      "'autovacuum_enabled=false' = ANY (reloptions))");
}

bool has_reloptions(test::AdminSession& admin) {
  return admin.exists(
      "EXISTS (SELECT 1 FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid WHERE "
      "c.relname = 'fingerprints' AND (c.reloptions IS NOT NULL OR t.reloptions IS NOT NULL))");
}

// A table with no dead rows and fresh statistics, as after autovacuum caught up.
void vacuumed(test::AdminSession& admin) {
  admin.sql("VACUUM ANALYZE fingerprints");
  REQUIRE(eventually([&] {
    auto s = fingerprint_stats(admin);
    return s.dead == 0 && s.modified == 0 && s.live > 0;
  }));
}

void check_identifies(Workload& w) {
  auto known = w.post("/identify", clip_wav(3, 2.0));
  REQUIRE(known.status == 200);
  CHECK(json_of(known)["song_name"] == "synthetic-3");
  auto unknown = w.post("/identify", clip_wav(1'000'003, 2.0));
  REQUIRE(unknown.status == 200);
  CHECK(json_of(unknown)["match"] == false);
}

}  // namespace

TEST_CASE("faults: dead-rows leaves dead tuples with autovacuum off, and clearing vacuums",
          "[faults]") {
  Workload w(dsn());
  test::AdminSession admin(kDatabase);
  vacuumed(admin);
  auto rows = count_rows(admin, "SELECT count(*) FROM fingerprints");

  auto set = w.fault("dead-rows=0.5");
  REQUIRE(set.status == 200);
  CHECK(json_of(set)["dead-rows"] == 0.5);
  CHECK(autovacuum_off(admin));
  // About half the rows updated: a third of the tuples dead. Visible as the request answers.
  auto s = fingerprint_stats(admin);
  INFO("live " << s.live << ", dead " << s.dead);
  CHECK(s.dead / (s.live + s.dead) == Approx(1.0 / 3).margin(0.05));
  CHECK(count_rows(admin, "SELECT count(*) FROM fingerprints") == rows);
  check_identifies(w);

  auto cleared = w.fault("clear=dead-rows");
  REQUIRE(cleared.status == 200);
  CHECK(json_of(cleared)["dead-rows"] == false);
  CHECK(fingerprint_stats(admin).dead == 0);
  CHECK_FALSE(has_reloptions(admin));
}

TEST_CASE(
    "faults: stale-stats adds unmatchable rows with autoanalyze off, and clearing removes them",
    "[faults]") {
  Workload w(dsn());
  test::AdminSession admin(kDatabase);
  vacuumed(admin);
  auto rows = count_rows(admin, "SELECT count(*) FROM fingerprints");
  const std::string kMarkerRows =
      "SELECT count(*) FROM fingerprints f JOIN songs s USING (song_id) WHERE s.song_name = "
      "'afp-fault-stale-stats'";

  auto set = w.fault("stale-stats=0.2");
  REQUIRE(set.status == 200);
  CHECK(json_of(set)["stale-stats"] == 0.2);
  CHECK(autovacuum_off(admin));
  CHECK(count_rows(admin, kMarkerRows) == static_cast<int>(std::ceil(0.2 * rows)));
  auto s = fingerprint_stats(admin);
  INFO("live " << s.live << ", dead " << s.dead << ", modified " << s.modified);
  CHECK(s.modified > 0.1 * s.live);
  CHECK(s.dead == 0);
  check_identifies(w);
  // The load generator's song list leaves the marker out.
  auto songs = w.store.fingerprinted_songs();
  CHECK(songs.size() == static_cast<std::size_t>(kSongs));

  // Set again: the rows are made afresh, not added to.
  REQUIRE(w.fault("stale-stats=0.3").status == 200);
  CHECK(count_rows(admin, kMarkerRows) == static_cast<int>(std::ceil(0.3 * rows)));

  auto cleared = w.fault("clear");
  REQUIRE(cleared.status == 200);
  CHECK(json_of(cleared)["stale-stats"] == false);
  CHECK(count_rows(admin, "SELECT count(*) FROM fingerprints") == rows);
  CHECK(count_rows(admin, "SELECT count(*) FROM songs") == kSongs);
  s = fingerprint_stats(admin);
  CHECK(s.modified == 0);
  CHECK(s.dead == 0);
  CHECK_FALSE(has_reloptions(admin));
}

TEST_CASE("faults: slow-api adds its seconds to the API time, to no stage's", "[faults]") {
  Workload w(dsn());
  REQUIRE(w.fault("slow-api=1.5").status == 200);
  auto wav = clip_wav(6, 1.0);
  auto start = std::chrono::steady_clock::now();
  auto reply = w.post("/identify", wav);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(reply.status == 200);
  CHECK(json_of(reply)["song_name"] == "synthetic-6");
  CHECK(took >= 1.5);
  auto timing = pipeline::parse_server_timing(reply.headers["server-timing"]);
  REQUIRE(timing.ok());
  double stages = 0;
  for (const auto& e : timing.entries)
    stages += e.seconds.value_or(0);
  CHECK(stages < 1.0);

  REQUIRE(w.fault("clear=slow-api").status == 200);
  start = std::chrono::steady_clock::now();
  REQUIRE(w.post("/identify", wav).status == 200);
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 1.5);
  w.reporter.stop();
  std::vector<double> api;
  {
    std::lock_guard lock(w.recorded->mutex);
    for (const auto& o : w.recorded->items) {
      if (o.kind == pipeline::Kind::ApiRequest) api.push_back(o.value);
    }
  }
  REQUIRE(api.size() == 2);
  CHECK(api[0] >= 1.5);
  CHECK(api[1] < 1.5);
}

namespace {

// Whether a TCP connection to the port on loopback is accepted (false: refused).
bool accepts_connections(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  int err = errno;
  close(fd);
  if (!ok) REQUIRE(err == ECONNREFUSED);
  return ok;
}

}  // namespace

TEST_CASE("faults: probe-unreachable closes the probe listener, and clearing opens it again",
          "[faults]") {
  auto options = on_any_port();
  options.probe_listen = "127.0.0.1:0";
  Workload w(dsn(), options);
  int probe = w.service.probe_port();
  REQUIRE(probe > 0);
  REQUIRE(probe != w.service.port());
  auto wav = clip_wav(8, 2.0);
  auto via_probe = [&] {
    HttpClient client;
    return client.send({"http://127.0.0.1:" + std::to_string(probe) + "/identify",
                        "POST",
                        {"Content-Type: audio/wav"},
                        wav,
                        std::chrono::seconds(60)});
  };
  auto first = via_probe();
  REQUIRE(first.status == 200);
  CHECK(json_of(first)["song_name"] == "synthetic-8");
  CHECK(accepts_connections(probe));

  auto set = w.fault("probe-unreachable");
  REQUIRE(set.status == 200);
  CHECK(json_of(set)["probe-unreachable"] == true);
  CHECK_FALSE(accepts_connections(probe));
  CHECK_FALSE(via_probe().answered());
  auto main = w.post("/identify", wav);  // the service itself goes on
  REQUIRE(main.status == 200);
  CHECK(json_of(main)["song_name"] == "synthetic-8");

  auto cleared = w.fault("clear");
  REQUIRE(cleared.status == 200);
  CHECK(json_of(cleared)["probe-unreachable"] == false);
  CHECK(w.service.probe_port() == probe);
  CHECK(accepts_connections(probe));
  CHECK(via_probe().status == 200);
}

TEST_CASE("faults: probe-unreachable is refused without a probe listener", "[faults]") {
  Workload w(dsn());
  auto refused = w.fault("probe-unreachable");
  CHECK(refused.status == 409);
  CHECK_THAT(json_of(refused)["error"].get<std::string>(),
             Catch::Contains("no probe listener") && Catch::Contains("--probe-listen"));
  CHECK(json_of(w.get("/admin/faults"))["probe-unreachable"] == false);
}

TEST_CASE("faults: changes are taken from loopback peers only", "[faults]") {
  std::optional<std::string> address;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (auto* a = list; a && !address; a = a->ifa_next) {
      if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
      char text[INET_ADDRSTRLEN] = {};
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text);
      if (!http::is_loopback(text)) address = text;
    }
    freeifaddrs(list);
  }
  if (!address) {
    WARN("no non-loopback IPv4 address on this machine: the 403 is not exercised");
    return;
  }
  auto options = on_any_port();
  options.listen = "0.0.0.0:0";
  Workload w(dsn(), options);
  HttpClient client;
  std::string url = "http://" + *address + ":" + std::to_string(w.service.port()) + "/admin/faults";
  auto refused = client.send({url + "?errors=1", "POST", {}, {}, std::chrono::seconds(30)});
  CHECK(refused.status == 403);
  CHECK_FALSE(w.faults.fail_this_request());
  CHECK(client.send({url, "GET", {}, {}, std::chrono::seconds(30)}).status == 200);
  CHECK(w.fault("errors=1").status == 200);  // from loopback
}
