// X-Prometheus-Scrape-Timeout-Seconds is read strictly: any client can send it.
#include "app/scrape_timeout.h"

#include <catch2/catch.hpp>

using afp::app::parse_scrape_timeout;

TEST_CASE("scrape timeout header: what Prometheus sends", "[scrape][deadline]") {
  CHECK(parse_scrape_timeout("10") == 10.0);
  CHECK(parse_scrape_timeout("9.5") == 9.5);
  CHECK(parse_scrape_timeout("120.000") == 120.0);
  CHECK(parse_scrape_timeout(".5") == 1.0);  // clamped up: no collector answers sooner
  CHECK(parse_scrape_timeout("0.5001") == 1.0);
  CHECK(parse_scrape_timeout("86400") == 300.0);  // clamped down
  CHECK(parse_scrape_timeout("99999999999999999999999999999") == 300.0);
}

TEST_CASE("scrape timeout header: anything else is ignored", "[scrape][deadline]") {
  for (const char* header :
       {"", "0", "0.0", "-1", "+5", "nan", "NaN", "inf", "-inf", "1e10", "1E2", "5s", " 5", "5 ",
        "1.2.3", ".", "0x10", "10\r\n", "99999999999999999999999999999999999"}) {
    INFO('"' << header << '"');
    CHECK_FALSE(parse_scrape_timeout(header));
  }
}

TEST_CASE("scrape timeout header: the budget leaves time for the answer to travel",
          "[scrape][deadline]") {
  using std::chrono::duration;
  CHECK(duration<double>(afp::app::scrape_budget(10)).count() == Approx(9.5));
  CHECK(duration<double>(afp::app::scrape_budget(1)).count() == Approx(0.5));
}
