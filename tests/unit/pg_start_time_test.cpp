// pg_postmaster_start_time_seconds comes from whatever answers on the DSN: only a finite
// number in full becomes a sample (a wrong start time would silence or wake the cache alert).
#include <catch2/catch.hpp>

#include "pg/source.h"

using afp::pg::parse_epoch_seconds;

TEST_CASE("pg start time: PostgreSQL's float8 text is read as seconds since the epoch", "[pg]") {
  CHECK(parse_epoch_seconds("1765119600.123456") == 1765119600.123456);
  CHECK(parse_epoch_seconds("1765119600") == 1765119600.0);
  // Before 1970 is a strange clock, not garbage: the rules see it as long ago.
  CHECK(parse_epoch_seconds("-86400") == -86400.0);
}

TEST_CASE("pg start time: a hostile or broken answer gives no value", "[pg]") {
  for (const char* text :
       {"", " ", "Infinity", "-Infinity", "NaN", "nan", "inf", "1e999", "1765119600.5 ",
        " 1765119600", "1765119600abc", "0x10", "+1", "2026-12-07 15:00:00+00", "1,5", "--1"}) {
    INFO("'" << text << "'");
    CHECK_FALSE(parse_epoch_seconds(text).has_value());
  }
}
