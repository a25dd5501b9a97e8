// core::ProgressLine (db optimize's index builds, afp_workload ingest) and the texts it shows,
// on a clock the test moves by hand: no sleeps, no timing thresholds.
#include "core/progress.h"

#include <sstream>

#include "golden.h"
#include "pg/index_progress.h"

using afp::core::ProgressLine;
using namespace std::chrono_literals;

namespace {

struct FakeClock {
  ProgressLine::Clock::time_point now{};
  std::function<ProgressLine::Clock::time_point()> fn() {
    return [this] { return now; };
  }
};

}  // namespace

TEST_CASE("progress: counts, percentages and elapsed times", "[progress]") {
  CHECK(afp::core::count_of(512, 2048) == "512 of 2,048 (25.0 %)");
  CHECK(afp::core::count_of(1234567, 1234567) == "1,234,567 of 1,234,567 (100.0 %)");
  CHECK(afp::core::count_of(0, 3) == "0 of 3 (0.0 %)");
  CHECK(afp::core::count_of(42, 0) == "42");  // total not known
  CHECK(afp::core::elapsed_text(0ms) == "0 s");
  CHECK(afp::core::elapsed_text(59'999ms) == "59 s");
  CHECK(afp::core::elapsed_text(125s) == "2 min 05 s");
  CHECK(afp::core::elapsed_text(3h + 2min + 5s) == "3 h 02 min");
}

TEST_CASE("progress: without a terminal, a plain line every 10 s and nothing else", "[progress]") {
  FakeClock clock;
  std::ostringstream out;
  {
    ProgressLine line(out, "ingest", {false, 10s, 200ms, clock.fn()});
    line.update("songs 1 of 300 (0.3 %)");
    clock.now += 9s;
    line.update("songs 2 of 300 (0.7 %)");
    CHECK(out.str().empty());  // a short job prints nothing
    clock.now += 1s;
    line.update("songs 3 of 300 (1.0 %)");
    clock.now += 5s;
    line.update("songs 4 of 300 (1.3 %)");
    clock.now += 5s;
    line.update("songs 5 of 300 (1.7 %)");
    line.finish();
    CHECK(line.written() == 2);
  }
  CHECK(out.str() ==
        "ingest: songs 3 of 300 (1.0 %), elapsed 10 s\n"
        "ingest: songs 5 of 300 (1.7 %), elapsed 20 s\n");
  CHECK(out.str().find('\r') == std::string::npos);
  CHECK(out.str().find('\x1b') == std::string::npos);
}

TEST_CASE("progress: on a terminal, one line redrawn in place and cleared at the end",
          "[progress]") {
  FakeClock clock;
  std::ostringstream out;
  ProgressLine line(out, "db optimize: [1/1] CREATE INDEX on public.fingerprints",
                    {true, 10s, 200ms, clock.fn()});
  line.update("initializing");
  CHECK(out.str() ==
        "\rdb optimize: [1/1] CREATE INDEX on public.fingerprints: initializing, elapsed 0 s"
        "\x1b[K");
  clock.now += 100ms;
  line.update("too soon to redraw");
  CHECK(line.written() == 1);
  clock.now += 2s;
  line.update("building index: scanning table, blocks 10 of 20 (50.0 %)");
  CHECK(line.written() == 2);
  CHECK_THAT(out.str(), Catch::EndsWith("\rdb optimize: [1/1] CREATE INDEX on "
                                        "public.fingerprints: building index: scanning table, "
                                        "blocks 10 of 20 (50.0 %), elapsed 2 s\x1b[K"));
  line.finish();
  CHECK_THAT(out.str(), Catch::EndsWith("\x1b[K\r\x1b[K"));
  auto size = out.str().size();
  line.finish();  // idempotent, and nothing to clear when nothing was drawn
  CHECK(out.str().size() == size);
}

TEST_CASE("progress: pg_stat_progress_create_index rows as text", "[progress][pg]") {
  afp::pg::CreateIndexProgress p;
  p.phase = "building index: scanning table";
  p.blocks_done = 512;
  p.blocks_total = 2048;
  p.tuples_total = 10;
  CHECK(afp::pg::describe(p) == "building index: scanning table, blocks 512 of 2,048 (25.0 %)");
  p = {};
  p.phase = "building index: loading tuples in tree";
  p.tuples_done = 7;
  p.tuples_total = 70;
  CHECK(afp::pg::describe(p) == "building index: loading tuples in tree, tuples 7 of 70 (10.0 %)");
  p = {};
  p.phase = "waiting for writers before build";
  p.lockers_total = 1;
  CHECK(afp::pg::describe(p) == "waiting for writers before build, transactions 0 of 1 (0.0 %)");
  CHECK(afp::pg::describe({}) == "starting");
}
