// One whole scrape of every system collector on a fixture tree, compared byte for byte with
// tests/fixtures/golden/whole_scrape_<tree>.prom (node_exporter's e2e-output.txt):
// families, order, HELP and TYPE lines and the scraper's self-metrics together.
// AFP_UPDATE_GOLDEN=1 rewrites the files.
#include <regex>
#include <string>
#include <vector>

#include "app/catalog.h"
#include "collectors/filesystem.h"
#include "collectors/process.h"
#include "collectors/scraper.h"
#include "fixed_sources.h"
#include "golden.h"
#include "log/logger.h"

using namespace afp;

namespace {

// The catalog's factory, except where a collector reads the kernel rather than the fixture
// tree: those get the fixed answers the per-collector golden tests use.
std::unique_ptr<collectors::Collector> make_fixed(const collectors::CollectorSpec& spec,
                                                  const collectors::CollectorSettings& settings) {
  if (spec.name == "filesystem")
    return collectors::make_filesystem_collector(settings, test::fixed_stat);
  if (spec.name == "time") return collectors::make_time_collector(test::fixed_clock);
  if (spec.name == "uname") return collectors::make_uname_collector(test::fixed_uname);
  if (spec.name == "process") return collectors::make_process_collector(settings, 4096);
  return spec.make({settings, nullptr});
}

// Every collector that needs neither PostgreSQL, the pipeline nor the probe, in catalog
// order: a new system collector joins this test (and its golden file) by being catalogued.
std::vector<collectors::NamedCollector> system_collectors(
    const collectors::CollectorSettings& settings) {
  std::vector<collectors::NamedCollector> list;
  for (const auto& spec : collectors::builtin_collectors()) {
    if (spec.needs != collectors::Needs::nothing) continue;
    list.push_back({std::string(spec.name), make_fixed(spec, settings)});
  }
  return list;
}

// What no fixture can fix is masked rather than dropped, so the golden file still shows
// every line: how long each collector took (wall-clock time), and the build's version and
// revision (a new commit must not change the golden file).
std::string mask_nondeterministic(const std::string& text) {
  static const std::regex duration(
      R"((afp_exporter_scrape_collector_duration_seconds\{collector="[a-z_]+"\}) \S+)");
  static const std::regex build_info(
      R"(afp_exporter_build_info\{version="[^"]*",revision="[^"]*"\})");
  auto masked = std::regex_replace(text, duration, "$1 <duration>");
  return std::regex_replace(
      masked, build_info, R"(afp_exporter_build_info{version="<version>",revision="<revision>"})");
}

std::string whole_scrape(const std::string& tree) {
  // Collector failures on the malformed tree are logged; the scrape's output is what counts.
  log::Logger quiet(log::Level::error, log::Format::logfmt, [](std::string_view) {});
  collectors::CollectorHealth health(quiet);
  auto settings = test::fixture_settings(tree);
  collectors::Scraper scraper(system_collectors(settings), health);
  std::string text;
  metrics::TextWriter out(text);
  scraper.scrape(out);
  return mask_nondeterministic(text);
}

}  // namespace

TEST_CASE("a whole scrape of the default fixture tree matches its golden file", "[golden]") {
  test::check_golden(whole_scrape("default"), "whole_scrape_default");
}

TEST_CASE("a whole scrape of the malformed fixture tree matches its golden file", "[golden]") {
  test::check_golden(whole_scrape("malformed"), "whole_scrape_malformed");
}
