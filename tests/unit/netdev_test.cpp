#include <vector>

#include "collectors/system_collectors.h"
#include "golden.h"

using namespace afp;
using test::count;
using test::devices_of;

namespace {

using Devices = std::vector<std::string>;

bool has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("netdev reports every device's counters", "[collector][netdev]") {
  auto c = collectors::make_netdev_collector(test::fixture_settings());
  auto r = test::run_collector(*c);
  CHECK(r.malformed == 0);
  test::check_golden(r.text, "netdev");

  CHECK(count(r.text, " counter\n") == 16);
  CHECK(count(r.text, " gauge\n") == 0);
  CHECK(devices_of(r.text, "node_network_receive_bytes_total") == Devices{"lo", "eth0", "wlan0"});
  CHECK(devices_of(r.text, "node_network_transmit_compressed_total") ==
        Devices{"lo", "eth0", "wlan0"});
  CHECK(r.text.find("# HELP node_network_receive_errs_total Network device statistic "
                    "receive_errs.\n") != std::string::npos);
  // Column mapping, checked on wlan0 whose columns are all different.
  CHECK(has(r.text, "node_network_receive_packets_total{device=\"wlan0\"} 9876543210"));
  CHECK(has(r.text, "node_network_receive_errs_total{device=\"wlan0\"} 12"));
  CHECK(has(r.text, "node_network_receive_drop_total{device=\"wlan0\"} 345"));
  CHECK(has(r.text, "node_network_receive_fifo_total{device=\"wlan0\"} 6"));
  CHECK(has(r.text, "node_network_receive_frame_total{device=\"wlan0\"} 7"));
  CHECK(has(r.text, "node_network_receive_compressed_total{device=\"wlan0\"} 8"));
  CHECK(has(r.text, "node_network_receive_multicast_total{device=\"wlan0\"} 910"));
  CHECK(has(r.text, "node_network_transmit_packets_total{device=\"wlan0\"} 4294967296"));
  CHECK(has(r.text, "node_network_transmit_errs_total{device=\"wlan0\"} 11"));
  CHECK(has(r.text, "node_network_transmit_drop_total{device=\"wlan0\"} 13"));
  CHECK(has(r.text, "node_network_transmit_fifo_total{device=\"wlan0\"} 14"));
  CHECK(has(r.text, "node_network_transmit_colls_total{device=\"wlan0\"} 15"));
  CHECK(has(r.text, "node_network_transmit_carrier_total{device=\"wlan0\"} 16"));
  CHECK(has(r.text, "node_network_transmit_compressed_total{device=\"wlan0\"} 17"));
  // 64-bit counters: exact below 2^53, %.16g above (as TextSerializer prints doubles).
  CHECK(has(r.text, "node_network_receive_bytes_total{device=\"eth0\"} 987654321098765"));
  CHECK(has(r.text, "node_network_receive_bytes_total{device=\"wlan0\"} 1.234567890123457e+19"));
  CHECK(has(r.text, "node_network_transmit_bytes_total{device=\"wlan0\"} 1.844674407370955e+19"));
  // node_network_up is the netclass collector's, as in node_exporter.
  CHECK(r.text.find("node_network_up") == std::string::npos);
}

TEST_CASE("netdev honours device include and exclude", "[collector][netdev]") {
  auto settings = test::fixture_settings();
  settings.netdev_device_include = "^(eth|wlan)";
  auto c = collectors::make_netdev_collector(settings);
  auto r = test::run_collector(*c);
  CHECK(devices_of(r.text, "node_network_receive_bytes_total") == Devices{"eth0", "wlan0"});

  settings.netdev_device_include = "";
  settings.netdev_device_exclude = "^lo$";
  c = collectors::make_netdev_collector(settings);
  r = test::run_collector(*c);
  CHECK(devices_of(r.text, "node_network_transmit_bytes_total") == Devices{"eth0", "wlan0"});
  CHECK(r.text.find("\"lo\"") == std::string::npos);

  settings.netdev_device_exclude = ".";
  c = collectors::make_netdev_collector(settings);
  r = test::run_collector(*c);
  CHECK(r.text.empty());
}

TEST_CASE("netdev skips and counts malformed lines and keeps the good ones",
          "[collector][netdev]") {
  auto c = collectors::make_netdev_collector(test::fixture_settings("malformed"));
  auto r = test::run_collector(*c);
  // eth0 (no colon), wlan0 (non-numeric), the nameless line, eth2 (15 fields) and the
  // truncated eth3; the header lines and the blank line are not counted.
  CHECK(r.malformed == 5);
  CHECK(devices_of(r.text, "node_network_receive_bytes_total") == Devices{"lo", "eth1"});
  // "eth1:1234567890" (no space after the colon, as old kernels write it) parses.
  CHECK(has(r.text, "node_network_receive_bytes_total{device=\"eth1\"} 1234567890"));
  CHECK(has(r.text, "node_network_transmit_packets_total{device=\"eth1\"} 432"));
}

TEST_CASE("netdev with an empty file writes nothing", "[collector][netdev]") {
  auto c = collectors::make_netdev_collector(test::fixture_settings("empty"));
  auto r = test::run_collector(*c);
  CHECK(r.text.empty());
  CHECK(r.malformed == 0);
}
