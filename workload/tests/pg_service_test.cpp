// afp_workload's service against the test cluster (CTest fixture "pg"), in a database of
// its own with ten 10-second synthetic songs: identification over HTTP, re-ingest, bad
// inputs and reporting to a real exporter.

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "http/client.h"
#include "metrics/text_parser.h"
#include "pg_service_support.h"
#include "unit/running_app.h"

using namespace afp;
using namespace afp::workload;
using namespace afp::workload::service_test;

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
