// The HTTP ingest path without the HTTP: a 1000-observation body in the README's example mix,
// read by parse_batch and by nlohmann::json (for scale), applied to a Store, and the
// Store's write(). Prints microseconds per batch and observations per second.
//
//   ingest_parse_bench [batches]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "metrics/text_writer.h"
#include "pipeline/batch_parser.h"
#include "pipeline/store.h"

namespace {

using afp::pipeline::Observation;
using afp::pipeline::Store;
using afp::pipeline::Transport;

constexpr int kItems = 1000;

// Formatted the way Python's json.dumps writes it (", " and ": "), the likely client.
std::string make_body(std::mt19937_64& rng) {
  static const char* kEndpoints[] = {"/identify", "/fingerprint", "/songs", "/health", "/songs/id"};
  static const char* kStatuses[] = {"200", "200", "200", "404", "500"};
  static const char* kOps[] = {"lookup", "lookup", "insert", "delete", "other"};
  static const char* kResults[] = {"match", "no_match", "error"};
  std::uniform_real_distribution<double> seconds(0.001, 12.0);
  std::string body = "{\"version\": 1, \"observations\": [";
  for (int i = 0; i < kItems; ++i) {
    if (i) body += ", ";
    char item[256];
    switch (rng() % 6) {
      case 0:
        std::snprintf(item, sizeof item, R"({"metric": "fingerprint_generation", "seconds": %.6g})",
                      seconds(rng));
        break;
      case 1:
        std::snprintf(item, sizeof item,
                      R"({"metric": "api_request", "seconds": %.6g, "labels": {"endpoint": "%s", )"
                      R"("method": "%s", "status": "%s"}})",
                      seconds(rng), kEndpoints[rng() % 5], rng() % 2 ? "POST" : "GET",
                      kStatuses[rng() % 5]);
        break;
      case 2:
        std::snprintf(item, sizeof item,
                      R"({"metric": "db_query", "seconds": %.6g, "labels": {"operation": "%s"}})",
                      seconds(rng) / 100, kOps[rng() % 5]);
        break;
      case 3:
        std::snprintf(item, sizeof item,
                      R"({"metric": "identification", "labels": {"result": "%s"}})",
                      kResults[rng() % 3]);
        break;
      case 4:
        std::snprintf(item, sizeof item, R"({"metric": "audio_processed", "seconds": %.6g})",
                      seconds(rng) * 10);
        break;
      default:
        std::snprintf(item, sizeof item, R"({"metric": "fingerprint_hashes", "count": %d})",
                      static_cast<int>(rng() % 20000));
        break;
    }
    body += item;
  }
  return body + "]}";
}

// Mean microseconds per call of `run` over `n` calls, after a warm-up call.
double mean_us(int n, const std::function<void()>& run) {
  run();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i)
    run();
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
             .count() /
         n;
}

void report(const char* what, double us) {
  std::printf("%-44s %9.1f us/batch  %12.0f obs/s\n", what, us, kItems * 1e6 / us);
}

void fail(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  int batches = argc > 1 ? std::atoi(argv[1]) : 2000;
  if (batches <= 0) batches = 2000;
  std::mt19937_64 rng(20240601);
  const std::string body = make_body(rng);
  std::printf("body: %d observations, %zu bytes; %d batches per measurement\n", kItems, body.size(),
              batches);

  std::vector<Observation> out;
  std::deque<std::string> scratch;
  auto parse = [&] {
    if (afp::pipeline::parse_batch(body, {}, out, scratch)) fail("parse_batch refused the body");
  };
  report("parse_batch", mean_us(batches, parse));
  report("nlohmann::json::parse (DOM only)", mean_us(std::max(1, batches / 10), [&] {
           if (nlohmann::json::parse(body).size() != 2) fail("nlohmann read another body");
         }));

  Store store;
  parse();
  report("Store::apply", mean_us(batches, [&] {
           if (store.apply(Transport::Http, out)) fail("apply refused the batch");
         }));
  report("parse_batch + Store::apply", mean_us(batches, [&] {
           parse();
           store.apply(Transport::Http, out);
         }));

  // Two threads, as the HTTP workers on the two cores would run them.
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      std::vector<Observation> mine;
      std::deque<std::string> my_scratch;
      for (int i = 0; i < batches; ++i) {
        afp::pipeline::parse_batch(body, {}, mine, my_scratch);
        store.apply(Transport::Http, mine);
      }
    });
  }
  for (auto& t : threads)
    t.join();
  double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
      (2.0 * batches);
  report("parse + apply, 2 threads (wall per batch)", us);

  std::string text;
  double write_us = mean_us(200, [&] {
    text.clear();
    afp::metrics::TextWriter w(text);
    store.write(w);
  });
  std::printf("%-44s %9.1f us (%zu bytes)\n", "Store::write", write_us, text.size());
  return 0;
}
