#include <vector>

#include "collectors/system_collectors.h"
#include "golden.h"

using namespace afp;
using test::count;
using test::devices_of;

namespace {

using Devices = std::vector<std::string>;

}  // namespace

TEST_CASE("diskstats reports whole disks, converting sectors and milliseconds",
          "[collector][diskstats]") {
  auto c = collectors::make_diskstats_collector(test::fixture_settings());
  auto r = test::run_collector(*c);
  CHECK(r.malformed == 0);
  test::check_golden(r.text, "diskstats");

  // Default exclude: partitions (sda1, nvme0n1p1), loop0 and ram0 are not reported.
  const Devices all{"sda", "vda", "nvme0n1", "dm-0"};
  CHECK(devices_of(r.text, "node_disk_reads_completed_total") == all);
  CHECK(devices_of(r.text, "node_disk_io_time_weighted_seconds_total") == all);
  // Discard stats need an 18- or 20-field line (not vda's 14), flush stats a 20-field one.
  CHECK(devices_of(r.text, "node_disk_discards_completed_total") ==
        Devices{"sda", "nvme0n1", "dm-0"});
  CHECK(devices_of(r.text, "node_disk_discard_time_seconds_total") ==
        Devices{"sda", "nvme0n1", "dm-0"});
  CHECK(devices_of(r.text, "node_disk_flush_requests_total") == Devices{"nvme0n1", "dm-0"});
  CHECK(devices_of(r.text, "node_disk_flush_requests_time_seconds_total") ==
        Devices{"nvme0n1", "dm-0"});
  // Family by family: 17 families, each introduced once.
  CHECK(count(r.text, "# HELP ") == 17);
  CHECK(count(r.text, "# TYPE node_disk_io_now gauge\n") == 1);
  CHECK(count(r.text, " counter\n") == 16);
  // sectors * 512 and ms / 1000.
  CHECK(r.text.find("\nnode_disk_read_bytes_total{device=\"sda\"} 3852325888\n") !=
        std::string::npos);
  CHECK(r.text.find("\nnode_disk_written_bytes_total{device=\"nvme0n1\"} 39030267904\n") !=
        std::string::npos);
  // 71332 ms = 71.332 s, printed with %.16g as TextSerializer prints every double.
  CHECK(r.text.find("\nnode_disk_write_time_seconds_total{device=\"vda\"} 71.33199999999999\n") !=
        std::string::npos);
  CHECK(r.text.find("\nnode_disk_flush_requests_time_seconds_total{device=\"nvme0n1\"} 25.801\n") !=
        std::string::npos);
  CHECK(r.text.find("\nnode_disk_io_now{device=\"nvme0n1\"} 3\n") != std::string::npos);
  // Discarded sectors stay in sectors, as in node_exporter.
  CHECK(r.text.find("\nnode_disk_discarded_sectors_total{device=\"dm-0\"} 156204568\n") !=
        std::string::npos);
}

TEST_CASE("diskstats honours a custom device exclude", "[collector][diskstats]") {
  auto settings = test::fixture_settings();
  settings.disk_device_exclude = "^(loop|ram)\\d+$";
  auto c = collectors::make_diskstats_collector(settings);
  auto r = test::run_collector(*c);
  CHECK(devices_of(r.text, "node_disk_reads_completed_total") ==
        Devices{"sda", "sda1", "vda", "nvme0n1", "nvme0n1p1", "dm-0"});
  CHECK(r.text.find("\nnode_disk_read_bytes_total{device=\"nvme0n1p1\"} 19927040000\n") !=
        std::string::npos);

  settings.disk_device_exclude = "";
  c = collectors::make_diskstats_collector(settings);
  r = test::run_collector(*c);
  CHECK(devices_of(r.text, "node_disk_reads_completed_total") ==
        Devices{"loop0", "ram0", "sda", "sda1", "vda", "nvme0n1", "nvme0n1p1", "dm-0"});
  // 9 ms (0.009 s under %.16g)
  CHECK(
      r.text.find("\nnode_disk_read_time_seconds_total{device=\"loop0\"} 0.008999999999999999\n") !=
      std::string::npos);
}

TEST_CASE("diskstats skips and counts malformed lines and keeps the good ones",
          "[collector][diskstats]") {
  auto c = collectors::make_diskstats_collector(test::fixture_settings("malformed"));
  auto r = test::run_collector(*c);
  // nvme0n1 (cut short), sdb (non-numeric), "garbage line here", sdc (19 fields), sdd
  // (non-numeric major), loop0 (negative; counted even though it would be excluded) and the
  // truncated last line sde; the blank line is not counted.
  CHECK(r.malformed == 7);
  CHECK(devices_of(r.text, "node_disk_reads_completed_total") == Devices{"sda", "vda", "dm-0"});
  CHECK(devices_of(r.text, "node_disk_flush_requests_total") == Devices{"dm-0"});
  CHECK(r.text.find("\nnode_disk_read_bytes_total{device=\"vda\"} 1608811520\n") !=
        std::string::npos);
  for (const char* dev : {"nvme0n1", "sdb", "sdc", "sdd", "sde", "loop0", "garbage"}) {
    INFO(dev);
    CHECK(r.text.find(std::string("device=\"") + dev + "\"") == std::string::npos);
  }
}

TEST_CASE("diskstats with no devices writes nothing", "[collector][diskstats]") {
  auto c = collectors::make_diskstats_collector(test::fixture_settings("empty"));
  auto r = test::run_collector(*c);
  CHECK(r.text.empty());
  CHECK(r.malformed == 0);
}
