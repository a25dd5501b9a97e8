// afp_workload against the test cluster (CTest fixture "pg"), in a database of its own with
// ten 10-second synthetic songs: identification over HTTP, re-ingest, the faults, bad
// inputs, reporting to a real exporter, and the binary's subcommands.
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <future>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "audio.h"
#include "db_pool.h"
#include "faults.h"
#include "http/client.h"
#include "http_client.h"
#include "identify.h"
#include "ingest.h"
#include "integration/pg_test_db.h"
#include "lib/child_process.h"
#include "metrics/text_parser.h"
#include "pipeline/server_timing.h"
#include "reporter.h"
#include "service.h"
#include "song_store.h"
#include "unit/running_app.h"

extern char** environ;

using namespace afp;
using namespace afp::workload;

namespace {

constexpr const char* kDatabase = "afp_workload_service";
constexpr double kSongSeconds = 10;
constexpr int kSongs = 10;
const std::string kNowhere = "postgresql://afp@127.0.0.1:1/fingerprints?connect_timeout=2";

log::Logger& quiet() {
  static log::Logger log(log::Level::error, log::Format::logfmt, [](std::string_view) {});
  return log;
}

// Waits for what the test cannot schedule; the limit only keeps a broken build from hanging.
bool eventually(const std::function<bool()>& condition) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return condition();
}

IngestOptions library() {
  return {1, kSongs, kSongSeconds, 2};
}

// The test database with the Dejavu schema and the ten songs, made once per process.
const std::string& dsn() {
  static const std::string value = [] {
    auto d = test::fresh_database(kDatabase);
    Reporter none(nullptr, quiet(), {});
    ConnectionPool pool(d, {3}, quiet());
    SongStore store(pool, none, quiet());
    store.ensure_schema();
    auto counts = Ingest(library(), store, none, quiet()).run();
    REQUIRE(counts.stored == kSongs);
    return d;
  }();
  return value;
}

// Observations as the reporter would send them, kept for the test to read.
struct Recorded {
  std::mutex mutex;
  std::vector<ReportObservation> items;

  std::size_t count(pipeline::Kind kind, const std::string& label = "") {
    std::lock_guard lock(mutex);
    return static_cast<std::size_t>(std::count_if(items.begin(), items.end(), [&](const auto& o) {
      return o.kind == kind && (label.empty() || o.labels[0] == label || o.labels[2] == label);
    }));
  }
};

class RecordingTransport : public ReportTransport {
 public:
  explicit RecordingTransport(std::shared_ptr<Recorded> into) : into_(std::move(into)) {}
  Outcome send(const std::vector<ReportObservation>& batch, std::chrono::milliseconds) override {
    std::lock_guard lock(into_->mutex);
    into_->items.insert(into_->items.end(), batch.begin(), batch.end());
    return Outcome::Sent;
  }

 private:
  std::shared_ptr<Recorded> into_;
};

ServiceOptions on_any_port() {
  ServiceOptions o;
  o.listen = "127.0.0.1:0";
  return o;
}

// The service in this process, as `afp_workload serve` wires it (no load generator).
struct Workload {
  std::shared_ptr<Recorded> recorded = std::make_shared<Recorded>();
  Reporter reporter;
  ConnectionPool pool;
  SongStore store;
  Faults faults;
  Identifier identifier;
  Service service;
  std::string base;

  explicit Workload(const std::string& database, ServiceOptions options = on_any_port(),
                    std::unique_ptr<ReportTransport> transport = nullptr)
      : reporter(transport ? std::move(transport) : std::make_unique<RecordingTransport>(recorded),
                 quiet(), {std::chrono::milliseconds(50)}),
        // Look-ups wait behind the db-stall test's lock for as long as the test takes.
        pool(database, {4, std::chrono::seconds(5), std::chrono::minutes(5)}, quiet()),
        store(pool, reporter, quiet()),
        faults(database, quiet()),
        identifier(store, reporter, &faults),
        service(std::move(options), identifier, faults, reporter, quiet()) {
    service.start();
    base = "http://127.0.0.1:" + std::to_string(service.port());
  }
  ~Workload() {
    faults.stop();
    service.stop();
    reporter.stop();
  }

  HttpReply post(const std::string& path, std::string_view body,
                 std::vector<std::string> headers = {"Content-Type: audio/wav"}) {
    HttpClient client;
    return client.send({base + path, "POST", std::move(headers), body, std::chrono::minutes(5)});
  }
  HttpReply get(const std::string& path) {
    HttpClient client;
    return client.send({base + path, "GET", {}, {}, std::chrono::minutes(1)});
  }
  HttpReply fault(const std::string& query) { return post("/admin/faults?" + query, "", {}); }
};

std::string clip_wav(std::uint64_t seed, double start, double seconds = 5) {
  Audio clip = cut(synth_song(seed, kSongSeconds), start, seconds);
  add_noise(clip, 20, seed * 31 + 7);
  return encode_wav(clip);
}

nlohmann::json json_of(const HttpReply& reply) {
  INFO(reply.body);
  return nlohmann::json::parse(reply.body);
}

std::vector<std::string> stage_names(const HttpReply& reply) {
  auto timing = pipeline::parse_server_timing(
      reply.headers.count("server-timing") ? reply.headers.at("server-timing") : "");
  REQUIRE(timing.ok());
  std::vector<std::string> names;
  for (const auto& e : timing.entries) {
    REQUIRE(e.seconds.has_value());
    names.push_back(e.name);
  }
  return names;
}

std::string multipart(const std::string& wav, const std::string& field = "file") {
  return "--xYzBoUnDaRy\r\nContent-Disposition: form-data; name=\"" + field +
         "\"; filename=\"clip.wav\"\r\nContent-Type: audio/wav\r\n\r\n" + wav +
         "\r\n--xYzBoUnDaRy--\r\n";
}
const std::string kMultipartType = "Content-Type: multipart/form-data; boundary=xYzBoUnDaRy";

int count_rows(test::AdminSession& admin, const std::string& sql) {
  return std::stoi(std::string(admin.sql(sql).value(0, 0)));
}

bool index_exists(test::AdminSession& admin) {
  return admin.exists(
      "EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
      "WHERE c.relname = 'ix_fingerprints_hash' AND i.indisvalid)");
}

}  // namespace

TEST_CASE("service: a clip of song 4 is identified at its offset over HTTP", "[service]") {
  Workload w(dsn());
  auto wav = clip_wav(4, 3.0);
  for (bool as_form : {false, true}) {
    INFO((as_form ? "multipart" : "raw body"));
    auto reply =
        as_form ? w.post("/identify", multipart(wav), {kMultipartType}) : w.post("/identify", wav);
    REQUIRE(reply.status == 200);
    CHECK(reply.headers["content-type"] == "application/json");
    auto answer = json_of(reply);
    CHECK(answer["match"] == true);
    CHECK(answer["song_name"] == "synthetic-4");
    CHECK(answer["offset_seconds"].get<double>() == Approx(3.0).margin(0.05));  // a frame
    CHECK(answer["aligned"].get<int>() >= 20);
    CHECK(answer["clip_hashes"].get<int>() > answer["aligned"].get<int>() / 2);
    CHECK(answer["confidence"].get<double>() > 0.05);
    CHECK(stage_names(reply) == std::vector<std::string>{"decode", "fingerprint", "db", "align"});
  }
  w.reporter.stop();
  CHECK(w.recorded->count(pipeline::Kind::ApiRequest, "200") == 2);
  CHECK(w.recorded->count(pipeline::Kind::Identification, "match") == 2);
  CHECK(w.recorded->count(pipeline::Kind::FingerprintGeneration) == 2);
  CHECK(w.recorded->count(pipeline::Kind::AudioProcessed) == 2);
  CHECK(w.recorded->count(pipeline::Kind::FingerprintHashes) == 2);
  CHECK(w.recorded->count(pipeline::Kind::DbQuery, "lookup") >= 2);
}

TEST_CASE("service: a clip of a song not stored is no match", "[service]") {
  Workload w(dsn());
  auto reply = w.post("/identify", clip_wav(1'000'004, 2.0));
  REQUIRE(reply.status == 200);
  auto answer = json_of(reply);
  CHECK(answer["match"] == false);
  CHECK(answer["clip_hashes"].get<int>() > 0);
  CHECK_FALSE(answer.contains("song_id"));
  w.reporter.stop();
  CHECK(w.recorded->count(pipeline::Kind::Identification, "no_match") == 1);
  auto stats = json_of(w.get("/stats"));
  CHECK(stats["no_matches"] == 1);
  CHECK(stats["requests"]["200"] == 1);
}

TEST_CASE("service: ingesting again stores no duplicate rows", "[service]") {
  dsn();
  test::AdminSession admin(kDatabase);
  const std::string kRows = "SELECT count(*) FROM fingerprints";
  const std::string kSongsSql = "SELECT count(*) FROM songs";
  int rows = count_rows(admin, kRows);
  CHECK(count_rows(admin, kSongsSql) == kSongs);
  CHECK(count_rows(admin,
                   "SELECT count(*) FROM songs s WHERE fingerprinted = 1 AND total_hashes = "
                   "(SELECT count(*) FROM fingerprints f WHERE f.song_id = s.song_id)") == kSongs);

  Workload w(dsn());
  auto again = Ingest(library(), w.store, w.reporter, quiet()).run();
  CHECK(again.stored == 0);
  CHECK(again.skipped == kSongs);
  CHECK(count_rows(admin, kRows) == rows);

  // An ingest that stopped half-way (fingerprinted = 0) is redone, not duplicated.
  admin.sql("UPDATE songs SET fingerprinted = 0 WHERE song_name = 'synthetic-9'");
  auto redo = Ingest(library(), w.store, w.reporter, quiet()).run();
  CHECK(redo.stored == 1);
  CHECK(redo.skipped == kSongs - 1);
  CHECK(count_rows(admin, kRows) == rows);
  CHECK(count_rows(admin, kSongsSql) == kSongs);
  w.reporter.stop();
  CHECK(w.recorded->count(pipeline::Kind::DbQuery, "delete") == 1);
  CHECK(w.recorded->count(pipeline::Kind::DbQuery, "insert") >= 2);  // the song, its hashes
  CHECK(w.recorded->count(pipeline::Kind::FingerprintGeneration) == 1);
}

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

TEST_CASE("service: bad uploads get 4xx answers that say why", "[service]") {
  Workload w(dsn());
  auto empty = w.post("/identify", "");
  CHECK(empty.status == 400);
  CHECK_THAT(json_of(empty)["error"].get<std::string>(), Catch::Contains("empty upload"));

  auto garbage = w.post("/identify", "this is not audio at all, just some text bytes");
  CHECK(garbage.status == 400);
  CHECK_THAT(json_of(garbage)["error"].get<std::string>(), Catch::Contains("cannot use the audio"));

  auto truncated = w.post("/identify", clip_wav(3, 0).substr(0, 30));
  CHECK(truncated.status == 400);

  Audio long_song = synth_song(11, 121);
  auto too_long = w.post("/identify", encode_wav(long_song));
  CHECK(too_long.status == 400);
  CHECK_THAT(json_of(too_long)["error"].get<std::string>(), Catch::Contains("at most 120 s"));

  auto no_file = w.post("/identify",
                        "--xYzBoUnDaRy\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n"
                        "hi\r\n--xYzBoUnDaRy--\r\n",
                        {kMultipartType});
  CHECK(no_file.status == 400);
  CHECK_THAT(json_of(no_file)["error"].get<std::string>(), Catch::Contains("no file in the form"));
  auto broken_form =
      w.post("/identify", multipart(clip_wav(3, 0)).substr(0, 200), {kMultipartType});
  CHECK(broken_form.status == 400);
  CHECK_THAT(json_of(broken_form)["error"].get<std::string>(),
             Catch::Contains("bad multipart upload"));
  auto mixed = w.post("/identify", multipart(clip_wav(3, 0)),
                      {"Content-Type: multipart/mixed; boundary=xYzBoUnDaRy"});
  CHECK(mixed.status == 400);

  CHECK(w.get("/identify").status == 405);
  CHECK(w.get("/healthz").status == 200);
  CHECK(w.get("/").body.find("POST /identify") != std::string::npos);
  auto bad_fault = w.fault("slow-fingerprint=0");
  CHECK(bad_fault.status == 400);
  CHECK_THAT(json_of(bad_fault)["error"].get<std::string>(), Catch::Contains("slow-fingerprint=0"));
  CHECK(w.post("/admin/faults", "", {}).status == 400);

  w.reporter.stop();
  CHECK(w.recorded->count(pipeline::Kind::ApiRequest, "400") == 7);
  CHECK(w.recorded->count(pipeline::Kind::Identification) == 0);  // 4xx: not identifications
}

TEST_CASE("service: an upload over the size limit gets 413", "[service]") {
  auto options = on_any_port();
  options.max_body_bytes = 256u << 10;
  Workload w(dsn(), options);
  auto reply = w.post("/identify", std::string(1u << 20, 'x'));
  CHECK(reply.status == 413);
  CHECK(w.post("/identify", clip_wav(6, 0, 4)).status == 200);  // 88 KB fits
}

TEST_CASE("service: an unreachable database answers 503", "[service]") {
  Workload w(kNowhere);
  auto reply = w.post("/identify", clip_wav(4, 3.0));
  CHECK(reply.status == 503);
  CHECK_THAT(json_of(reply)["error"].get<std::string>(), Catch::Contains("database unavailable"));
  CHECK(stage_names(reply) == std::vector<std::string>{"decode", "fingerprint", "db", "align"});
  auto drop = w.fault("drop-index");
  CHECK(drop.status == 503);
  CHECK(json_of(drop)["faults"]["drop-index"] == false);
  w.reporter.stop();
  CHECK(w.recorded->count(pipeline::Kind::ApiRequest, "503") == 1);
  CHECK(w.recorded->count(pipeline::Kind::Identification, "error") == 1);
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

TEST_CASE("service: /identify is reported to a real exporter", "[service]") {
  config::Options options;
  options.listen_addresses = {"127.0.0.1:0"};
  options.disable_defaults = true;
  options.collector_flags = {{"pipeline", true}};
  test::RunningApp exporter(options);
  {
    Workload w(dsn(), on_any_port(), make_http_transport(exporter.base, quiet()));
    REQUIRE(w.post("/identify", clip_wav(8, 4.0)).status == 200);
    REQUIRE(w.post("/identify", clip_wav(1'000'008, 4.0)).status == 200);
    CHECK(w.post("/identify", "junk").status == 400);
  }  // stopping the reporter flushes
  std::string error;
  auto res = http::get(exporter.base + "/metrics", std::chrono::seconds(10), &error);
  REQUIRE(res);
  auto m = metrics::parse_text(res->body);
  auto value = [&](const char* name, metrics::LabelMatch labels = {}) {
    const auto* s = metrics::find_sample(m, name, labels);
    return s ? s->value : -1;
  };
  CHECK(value("afp_api_request_duration_seconds_count",
              {{"endpoint", "/identify"}, {"method", "POST"}, {"status", "200"}}) == 2);
  CHECK(value("afp_api_request_duration_seconds_count", {{"status", "400"}}) == 1);
  CHECK(value("afp_identifications_total", {{"result", "match"}}) == 1);
  CHECK(value("afp_identifications_total", {{"result", "no_match"}}) == 1);
  CHECK(value("afp_fingerprint_generation_seconds_count") == 2);
  CHECK(value("afp_audio_processed_seconds_total") == Approx(10.0).margin(0.01));  // 2 x 5 s
  CHECK(value("afp_fingerprint_hashes_total") > 0);
  CHECK(value("afp_db_query_duration_seconds_count", {{"operation", "lookup"}}) >= 2);
}

namespace {

// The afp_workload binary in a child process, with AFP_PG_DSN set, its output in files.
class Child : public test::ChildProcess {
 public:
  explicit Child(std::vector<std::string> args) : ChildProcess(argv(std::move(args)), options()) {
    REQUIRE(started());
  }

 private:
  static std::vector<std::string> argv(std::vector<std::string> args) {
    args.insert(args.begin(), AFP_WORKLOAD_BINARY);
    return args;
  }
  static test::ChildOptions options() {
    test::ChildOptions o;
    o.env = std::vector<std::string>{"AFP_PG_DSN=" + dsn(), "PATH=/usr/bin:/bin"};
    return o;
  }
};

}  // namespace

TEST_CASE("cli: the binary serves, takes faults and stops on SIGTERM", "[cli]") {
  Child serve({"serve", "--listen", "127.0.0.1:0", "--rate", "5", "--concurrency", "2",
               "--song-seconds", "10", "--clip-seconds", "4", "--unknown-ratio", "0.2"});
  // The port is copied out inside the lambda: a match points into the log it searched.
  std::string port;
  REQUIRE(eventually([&] {
    auto log = serve.err();
    static const std::regex kListening("msg=listening address=127\\.0\\.0\\.1:0 port=([0-9]+)");
    std::smatch match;
    if (!std::regex_search(log, match, kListening)) return false;
    port = match[1].str();
    return true;
  }));
  std::string url = "http://127.0.0.1:" + port;
  HttpClient client;
  auto stats = [&] {
    auto reply = client.send({url + "/stats", "GET", {}, {}, std::chrono::seconds(30)});
    REQUIRE(reply.status == 200);
    return nlohmann::json::parse(reply.body);
  };
  // Its own identify load: clips of the stored songs come back as those songs.
  REQUIRE(eventually([&] { return stats()["load"]["correct"].get<int>() >= 2; }));
  CHECK(stats()["load"]["wrong"] == 0);

  Child fault({"fault", "--url", url, "errors=1", "slow-fingerprint=2"});
  REQUIRE(fault.wait() == 0);
  auto state = nlohmann::json::parse(fault.out());
  CHECK(state["errors"] == 1.0);
  CHECK(state["slow-fingerprint"] == 2.0);
  REQUIRE(eventually([&] { return stats()["load"]["errors"].get<int>() >= 1; }));
  Child clear({"fault", "--url", url + "/", "clear"});
  REQUIRE(clear.wait() == 0);
  CHECK(nlohmann::json::parse(clear.out())["errors"] == false);

  Child bad({"fault", "--url", url, "errors=2"});
  CHECK(bad.wait() == 2);
  CHECK_THAT(bad.err(), Catch::Contains("errors=2"));
  Child no_probe({"fault", "--url", url, "probe-unreachable"});
  CHECK(no_probe.wait() == 1);
  auto no_probe_err = no_probe.err();
  CHECK_THAT(no_probe_err, Catch::Contains("HTTP 409") && Catch::Contains("--probe-listen"));
  CHECK(std::count(no_probe_err.begin(), no_probe_err.end(), '\n') == 1);
  Child unknown_flag({"serve", "--listen-address", "x"});
  CHECK(unknown_flag.wait() == 2);
  CHECK_THAT(unknown_flag.err(), Catch::Contains("unknown flag --listen-address"));

  serve.signal(SIGTERM);
  CHECK(serve.wait() == 0);
  CHECK_THAT(serve.err(),
             Catch::Contains("msg=\"shutting down\"") && Catch::Contains("msg=stopped"));
}

TEST_CASE(
    "cli: under slow-api the probe still answers within 10 s, and probe-unreachable refuses it",
    "[cli]") {
  // The demo's load: 2 uploads a second, 4 at most in flight.
  Child serve({"serve", "--listen", "127.0.0.1:0", "--probe-listen", "127.0.0.1:0", "--rate", "2",
               "--concurrency", "4", "--song-seconds", "10", "--clip-seconds", "4"});
  std::string port, probe_port;
  REQUIRE(eventually([&] {
    auto log = serve.err();
    static const std::regex kListening("msg=listening address=127\\.0\\.0\\.1:0 port=([0-9]+)");
    static const std::regex kProbe(
        "msg=\"probe listening\" address=127\\.0\\.0\\.1:0 port=([0-9]+)");
    std::smatch main, probe;
    if (!std::regex_search(log, main, kListening) || !std::regex_search(log, probe, kProbe))
      return false;
    port = main[1].str();
    probe_port = probe[1].str();
    return true;
  }));
  std::string url = "http://127.0.0.1:" + port;
  HttpClient client;
  auto stats = [&] {
    auto reply = client.send({url + "/stats", "GET", {}, {}, std::chrono::seconds(5)});
    REQUIRE(reply.status == 200);
    return nlohmann::json::parse(reply.body);
  };
  REQUIRE(eventually([&] { return stats()["load"]["correct"].get<int>() >= 1; }));

  Child slow({"fault", "--url", url, "slow-api"});
  REQUIRE(slow.wait() == 0);
  CHECK(nlohmann::json::parse(slow.out())["slow-api"] == 6.0);
  // Let the load fill its four places with held uploads, then probe as the exporter does.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  auto wav = clip_wav(2, 1.0);
  auto start = std::chrono::steady_clock::now();
  auto probed = client.send({"http://127.0.0.1:" + probe_port + "/identify",
                             "POST",
                             {"Content-Type: audio/wav"},
                             wav,
                             std::chrono::seconds(10)});
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(probed.status == 200);
  CHECK(took >= 6);
  CHECK(took < 9);
  auto during = stats();  // answered at once, while uploads are held
  CHECK(during["load"]["errors"] == 0);

  Child unreachable({"fault", "--url", url, "clear=slow-api", "probe-unreachable"});
  REQUIRE(unreachable.wait() == 0);
  CHECK(nlohmann::json::parse(unreachable.out())["probe-unreachable"] == true);
  auto refused = client.send(
      {"http://127.0.0.1:" + probe_port + "/healthz", "GET", {}, {}, std::chrono::seconds(5)});
  CHECK_FALSE(refused.answered());
  auto sent = stats()["load"]["sent"].get<int>();
  REQUIRE(eventually([&] { return stats()["load"]["sent"].get<int>() >= sent + 2; }));

  Child clear({"fault", "--url", url, "clear"});
  REQUIRE(clear.wait() == 0);
  auto back = client.send(
      {"http://127.0.0.1:" + probe_port + "/healthz", "GET", {}, {}, std::chrono::seconds(5)});
  CHECK(back.status == 200);
  CHECK(stats()["load"]["errors"] == 0);
  serve.signal(SIGTERM);
  CHECK(serve.wait() == 0);
}

TEST_CASE("cli: init, identify and synth from the command line", "[cli]") {
  Child init({"init"});
  CHECK(init.wait() == 0);
  std::string clip = "/tmp/afp_workload_test_clip_" + std::to_string(getpid()) + ".wav";
  Child synth({"synth", "--seed", "6", "--seconds", "10", "--start", "2.5", "--clip-seconds", "5",
               "--out", clip});
  REQUIRE(synth.wait() == 0);
  Child identify({"identify", clip});
  CHECK(identify.wait() == 0);
  auto answer = nlohmann::json::parse(identify.out());
  CHECK(answer["song_name"] == "synthetic-6");
  CHECK(answer["offset_seconds"].get<double>() == Approx(2.5).margin(0.05));
  unlink(clip.c_str());

  Child missing({"identify", "/nonexistent.wav"});
  CHECK(missing.wait() == 1);
  CHECK_THAT(missing.err(), Catch::Contains("/nonexistent.wav"));
}
