// The floor under a pg_stat_statements scrape: what a bare libpq client spends fetching the
// rows the collector reads, with nothing done to them. bench/pg runs it against the same
// DSN as the exporters and reports our mean scrape as a multiple of it.
//
//   pg_floor DSN [RUNS]      (default 7 runs)
//
// Connects once, then RUNS times: PQexec of the statement query, every value of every row
// read with PQgetvalue (so no part of the result goes untouched), the result freed. Prints
//
//   FLOOR_US best=<us> median=<us> rows=<n> hwm_kb=<kB>
//
// the wall time of the fastest and the median run in microseconds, the rows of the last,
// and the client's own peak RSS (VmHWM): the memory floor of a process that reads these
// rows with libpq.
// On an error: one line on stderr naming what failed, exit 1.

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr const char* kQuery =
    "SELECT userid, dbid, queryid, calls, total_exec_time, rows, blk_read_time, "
    "blk_write_time FROM pg_stat_statements(false)";
constexpr int kDefaultRuns = 7;

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

// Where the values' checksum goes, so the compiler cannot drop the reads.
volatile unsigned g_sink = 0;

struct Run {
  double micros = 0;
  int rows = 0;
};

[[noreturn]] void fail(const std::string& what, std::string_view detail = {}) {
  std::string line = "pg_floor: " + what;
  if (!detail.empty()) line += ": " + std::string(detail);
  // libpq's messages end in a newline and may span lines (indented by a tab): the caller
  // expects one line.
  std::string one_line;
  for (char c : line) {
    if (c == '\n' || c == '\t') c = ' ';
    if (c != ' ' || (!one_line.empty() && one_line.back() != ' ')) one_line += c;
  }
  while (!one_line.empty() && one_line.back() == ' ')
    one_line.pop_back();
  std::fprintf(stderr, "%s\n", one_line.c_str());
  std::exit(1);
}

int parse_runs(const char* text) {
  int runs = 0;
  std::string_view view(text);
  auto [end, error] = std::from_chars(view.data(), view.data() + view.size(), runs);
  if (error != std::errc() || end != view.data() + view.size() || runs < 1) {
    fail("RUNS must be a positive integer", view);
  }
  return runs;
}

Connection connect(const char* dsn) {
  Connection conn(PQconnectdb(dsn), &PQfinish);
  if (!conn) fail("connection failed", "out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) fail("connection failed", PQerrorMessage(conn.get()));
  return conn;
}

// Reads every byte of every value; returns their sum.
unsigned touch_every_value(const PGresult* result) {
  unsigned sum = 0;
  const int rows = PQntuples(result);
  const int columns = PQnfields(result);
  for (int row = 0; row < rows; ++row) {
    for (int column = 0; column < columns; ++column) {
      for (const char* c = PQgetvalue(result, row, column); *c != '\0'; ++c) {
        sum += static_cast<unsigned char>(*c);
      }
    }
  }
  return sum;
}

Run fetch_once(PGconn* conn) {
  const auto start = std::chrono::steady_clock::now();
  Result result(PQexec(conn, kQuery), &PQclear);
  if (!result) fail("query failed", PQerrorMessage(conn));
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    fail("query failed", PQresultErrorMessage(result.get()));
  }
  g_sink = g_sink + touch_every_value(result.get());
  const int rows = PQntuples(result.get());
  result.reset();  // freeing the result is part of what a client pays
  const std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
  return {took.count(), rows};
}

long peak_rss_kb() {
  std::FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr) return 0;
  char line[256];
  long kb = 0;
  while (std::fgets(line, sizeof line, status) != nullptr) {
    if (std::sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
  }
  std::fclose(status);
  return kb;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  if (values.size() % 2 == 1) return values[middle];
  return (values[middle - 1] + values[middle]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) fail("usage: pg_floor DSN [RUNS]");
  const int runs = argc == 3 ? parse_runs(argv[2]) : kDefaultRuns;
  Connection conn = connect(argv[1]);

  std::vector<double> micros;
  int rows = 0;
  for (int i = 0; i < runs; ++i) {
    const Run run = fetch_once(conn.get());
    micros.push_back(run.micros);
    rows = run.rows;
  }
  std::printf("FLOOR_US best=%.0f median=%.0f rows=%d hwm_kb=%ld\n",
              *std::min_element(micros.begin(), micros.end()), median(micros), rows, peak_rss_kb());
  return 0;
}
