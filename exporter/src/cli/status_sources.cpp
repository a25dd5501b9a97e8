#include "cli/status_sources.h"

#include <array>
#include <memory>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include "app/catalog.h"
#include "metrics/text_writer.h"

namespace afp::cli {

using metrics::Sample;

namespace {

// The exporter over HTTP, or the built-in collectors: both give text that the one parser
// reads.

struct ScrapeFailure {
  bool nothing_listens = false;  // the first request was refused: no exporter at all
  std::string line;              // what went wrong and which flag fixes it
};

// The body of a 200 answer; nullopt with `failure` set otherwise.
std::optional<std::string> http_get(const StatusSourceOptions& o, ScrapeFailure& failure) {
  http::ClientError error;
  auto response = http::get(o.url, o.timeout, &error, o.client);
  if (!response) {
    failure.nothing_listens = error.kind == http::ClientError::Kind::Refused;
    failure.line = explain_failure(error, o.url, o.client_flags);
    return std::nullopt;
  }
  if (response->status != 200) {
    failure.line = explain_status(response->status, o.url, o.client_flags);
    return std::nullopt;
  }
  return std::move(response->body);
}

// Two parsed scrapes from the exporter; nullopt with `failure` set when it does not answer
// both times with a parseable exposition. elapsed runs from one request to the next: the
// exporter reads PostgreSQL when a scrape arrives, so that is the window its counters span.
std::optional<TwoScrapes> scrape_exporter(const StatusSourceOptions& o, ScrapeFailure& failure) {
  std::vector<Sample> scrapes[2];
  std::chrono::steady_clock::time_point sent[2];
  std::chrono::system_clock::time_point read_at;
  for (int i = 0; i < 2; ++i) {
    if (i == 1) std::this_thread::sleep_for(o.interval);
    sent[i] = std::chrono::steady_clock::now();
    read_at = std::chrono::system_clock::now();
    auto body = http_get(o, failure);
    if (!body) {
      failure.nothing_listens = failure.nothing_listens && i == 0;
      return std::nullopt;
    }
    try {
      scrapes[i] = metrics::parse_text(*body);
    } catch (const std::exception& e) {
      failure.line = o.url + " answered 200, but not with a Prometheus exposition: " + e.what();
      return std::nullopt;
    }
  }
  return TwoScrapes{std::move(scrapes[0]), std::move(scrapes[1]), sent[1] - sent[0], read_at};
}

constexpr std::array<std::string_view, 3> kLocalCollectors{"cpu", "meminfo", "filesystem"};

}  // namespace

std::pair<std::vector<Sample>, std::vector<Sample>> collect_locally(
    const collectors::CollectorSettings& settings, std::chrono::milliseconds interval,
    std::string_view command, std::ostream& err) {
  std::vector<std::pair<std::string_view, std::unique_ptr<collectors::Collector>>> local;
  for (auto name : kLocalCollectors) {
    const auto* spec = collectors::find_collector(name);
    if (spec == nullptr) throw std::logic_error("no built-in collector " + std::string(name));
    try {
      local.emplace_back(name, spec->make({settings, nullptr}));
    } catch (const std::exception& e) {
      err << command << ": local " << name << " collector unavailable: " << e.what() << "\n";
    }
  }
  std::set<std::string_view> reported;
  std::vector<Sample> scrapes[2];
  for (int i = 0; i < 2; ++i) {
    if (i == 1) std::this_thread::sleep_for(interval);
    std::string text;
    metrics::TextWriter writer(text);
    for (auto& [name, collector] : local) {
      collectors::ScrapeContext ctx{writer};
      auto mark = text.size();
      try {
        collector->collect(ctx);
        collectors::append_shared(ctx, text);
      } catch (const std::exception& e) {
        text.resize(mark);  // as the scraper: never half a family
        if (reported.insert(name).second) {
          err << command << ": local " << name << " collector failed: " << e.what() << "\n";
        }
      }
    }
    scrapes[i] = metrics::parse_text(text);
  }
  return {std::move(scrapes[0]), std::move(scrapes[1])};
}

std::optional<TwoScrapes> read_source(const StatusSourceOptions& o, std::string& source,
                                      std::ostream& err) {
  if (o.client.tls.skip) {
    err << "status: --tls.insecure-skip-verify: " << o.url
        << " is read without checking its certificate\n";
  }
  ScrapeFailure failure;
  if (auto scrapes = scrape_exporter(o, failure)) {
    source = o.url;
    return scrapes;
  }
  if (o.url_given || !failure.nothing_listens) {
    err << "status: " << failure.line << "\n";
    return std::nullopt;
  }
  err << "status: no exporter at " << o.url << " (connection refused); collecting locally\n";
  source = "local";
  auto [before, after] = collect_locally(o.settings, o.interval, "status", err);
  return TwoScrapes{std::move(before), std::move(after), o.interval,
                    std::chrono::system_clock::now()};
}

}  // namespace afp::cli
