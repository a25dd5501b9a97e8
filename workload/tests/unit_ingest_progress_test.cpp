// The text afp_workload ingest shows in its progress line (core::ProgressLine).
#include <catch2/catch.hpp>

#include "ingest.h"

TEST_CASE("ingest progress: songs done of total, then how each ended", "[ingest]") {
  afp::workload::IngestCounts counts{300, 118, 1, 1};
  CHECK(afp::workload::ingest_progress_text(counts) ==
        "songs 120 of 300 (40.0 %): stored 118, skipped 1, failed 1");
  CHECK(afp::workload::ingest_progress_text({0, 0, 0, 0}) ==
        "songs 0: stored 0, skipped 0, failed 0");
}
