#pragma once

// What the workload's integration tests share: the test database with ten 10-second
// synthetic songs (made once per process), the service in this process with its reports
// recorded, and the clips, uploads and queries the tests send.

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "audio.h"
#include "db_pool.h"
#include "faults.h"
#include "http_client.h"
#include "identify.h"
#include "ingest.h"
#include "integration/pg_test_db.h"
#include "pipeline/server_timing.h"
#include "reporter.h"
#include "service.h"
#include "song_store.h"

namespace afp::workload::service_test {

inline constexpr const char* kDatabase = "afp_workload_service";
inline constexpr double kSongSeconds = 10;
inline constexpr int kSongs = 10;
inline const std::string kNowhere = "postgresql://afp@127.0.0.1:1/fingerprints?connect_timeout=2";

inline log::Logger& quiet() {
  static log::Logger log(log::Level::error, log::Format::logfmt, [](std::string_view) {});
  return log;
}

// Waits for what the test cannot schedule; the limit only keeps a broken build from hanging.
inline bool eventually(const std::function<bool()>& condition) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return condition();
}

inline IngestOptions library() {
  return {1, kSongs, kSongSeconds, 2};
}

// The test database with the Dejavu schema and the ten songs, made once per process.
inline const std::string& dsn() {
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

inline ServiceOptions on_any_port() {
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

inline std::string clip_wav(std::uint64_t seed, double start, double seconds = 5) {
  Audio clip = cut(synth_song(seed, kSongSeconds), start, seconds);
  add_noise(clip, 20, seed * 31 + 7);
  return encode_wav(clip);
}

inline nlohmann::json json_of(const HttpReply& reply) {
  INFO(reply.body);
  return nlohmann::json::parse(reply.body);
}

inline std::vector<std::string> stage_names(const HttpReply& reply) {
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

inline std::string multipart(const std::string& wav, const std::string& field = "file") {
  return "--xYzBoUnDaRy\r\nContent-Disposition: form-data; name=\"" + field +
         "\"; filename=\"clip.wav\"\r\nContent-Type: audio/wav\r\n\r\n" + wav +
         "\r\n--xYzBoUnDaRy--\r\n";
}
inline const std::string kMultipartType = "Content-Type: multipart/form-data; boundary=xYzBoUnDaRy";

inline int count_rows(test::AdminSession& admin, const std::string& sql) {
  return std::stoi(std::string(admin.sql(sql).value(0, 0)));
}

inline bool index_exists(test::AdminSession& admin) {
  return admin.exists(
      "EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
      "WHERE c.relname = 'ix_fingerprints_hash' AND i.indisvalid)");
}

}  // namespace afp::workload::service_test
