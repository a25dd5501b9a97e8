#include <string>
#include <vector>

#include "collectors/system_collectors.h"
#include "golden.h"

using namespace afp;
using test::devices_of;

namespace {

using Devices = std::vector<std::string>;

bool has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

test::CollectResult collect_sysfs(const test::TempTree& tree) {
  auto settings = test::fixture_settings();
  settings.sysfs = tree.root.string();
  auto c = collectors::make_netclass_collector(settings);
  return test::run_collector(*c);
}

}  // namespace

TEST_CASE("netclass reports each device's attributes as node_exporter does",
          "[collector][netclass]") {
  auto c = collectors::make_netclass_collector(test::fixture_settings());
  auto r = test::run_collector(*c);
  CHECK(r.malformed == 0);
  test::check_golden(r.text, "netclass");
  // Sorted by name; lo has no speed or duplex (virtual devices answer EINVAL for them).
  CHECK(devices_of(r.text, "node_network_up") == Devices{"eth0", "lo"});
  CHECK(devices_of(r.text, "node_network_speed_bytes") == Devices{"eth0"});
  CHECK(has(r.text, "node_network_speed_bytes{device=\"eth0\"} 1250000000"));  // 10 Gbit/s
  // "unknown" (lo) is not up.
  CHECK(has(r.text, "node_network_up{device=\"lo\"} 0"));
  CHECK(has(r.text, "node_network_up{device=\"eth0\"} 1"));
  CHECK(has(r.text,
            "node_network_info{address=\"00:16:3e:5a:0b:c1\",broadcast=\"ff:ff:ff:ff:ff:ff\","
            "device=\"eth0\",duplex=\"full\",ifalias=\"uplink to rack switch\",operstate=\"up\"} "
            "1"));
}

TEST_CASE("netclass honours the netdev device include and exclude", "[collector][netclass]") {
  auto settings = test::fixture_settings();
  settings.netdev_device_exclude = "^lo$";
  auto c = collectors::make_netclass_collector(settings);
  auto r = test::run_collector(*c);
  CHECK(devices_of(r.text, "node_network_up") == Devices{"eth0"});
  CHECK(r.text.find("\"lo\"") == std::string::npos);
}

TEST_CASE("netclass fails without /sys/class/net and is empty without devices",
          "[collector][netclass]") {
  test::TempTree tree("netclass_none");
  CHECK_THROWS_WITH(collect_sysfs(tree), Catch::Contains("class/net"));
  std::filesystem::create_directories(tree.root / "class/net");
  auto r = collect_sysfs(tree);
  CHECK(r.text.empty());
}

TEST_CASE("netclass skips unreadable and malformed attributes, keeps the rest",
          "[collector][netclass]") {
  test::TempTree tree("netclass_bad");
  tree.write("class/net/eth1/operstate", "up");  // no newline
  tree.write("class/net/eth1/mtu", "9000x\n");   // malformed
  tree.write("class/net/eth1/speed", "-1\n");    // unknown speed, exported as node_exporter does
  tree.write("class/net/eth1/carrier", "");      // empty: malformed
  tree.write("class/net/eth1/ifalias", "\xff\xfe\n");  // not UTF-8: malformed, left empty
  tree.write("class/net/eth1/tx_queue_len", "99999999999999999999999\n");     // overflows
  tree.write("class/net/eth1/type", std::string(100000, '7'));                // overlong
  std::filesystem::create_directories(tree.root / "class/net/eth1/address");  // a directory
  std::filesystem::create_directories(tree.root / "class/net/bare");
  auto r = collect_sysfs(tree);
  CHECK(r.malformed == 5);
  CHECK(devices_of(r.text, "node_network_up") == Devices{"bare", "eth1"});
  CHECK(has(r.text, "node_network_up{device=\"eth1\"} 1"));
  CHECK(has(r.text, "node_network_speed_bytes{device=\"eth1\"} -125000"));
  CHECK(has(r.text,
            "node_network_info{address=\"\",broadcast=\"\",device=\"eth1\",duplex=\"\","
            "ifalias=\"\",operstate=\"up\"} 1"));
  for (const char* absent : {"node_network_mtu_bytes", "node_network_carrier{",
                             "node_network_transmit_queue_length", "node_network_protocol_type"})
    CHECK(r.text.find(absent) == std::string::npos);
}

TEST_CASE("netclass keeps attribute files open, rereads them, drops devices that go",
          "[collector][netclass]") {
  test::TempTree tree("netclass_churn");
  tree.write("class/net/bonding_masters", "bond0\n");  // a file, not a device
  tree.write("class/net/eth0/mtu", "1500\n");
  tree.write("class/net/veth1/mtu", "1500\n");
  auto settings = test::fixture_settings();
  settings.sysfs = tree.root.string();
  auto c = collectors::make_netclass_collector(settings);
  auto r = test::run_collector(*c);
  CHECK(devices_of(r.text, "node_network_mtu_bytes") == Devices{"eth0", "veth1"});

  tree.write("class/net/eth0/mtu", "9000\n");  // rewritten in place, as sysfs does
  std::filesystem::remove_all(tree.root / "class/net/veth1");
  r = test::run_collector(*c);
  CHECK(devices_of(r.text, "node_network_mtu_bytes") == Devices{"eth0"});
  CHECK(has(r.text, "node_network_mtu_bytes{device=\"eth0\"} 9000"));
}

TEST_CASE("netclass on this host reports every device in /sys/class/net", "[collector][netclass]") {
  collectors::CollectorSettings settings;
  auto c = collectors::make_netclass_collector(settings);
  auto text = test::run_collector(*c).text;
  CHECK(text.find("node_network_up{device=\"lo\"} ") != std::string::npos);
  CHECK(text.find("node_network_mtu_bytes{device=\"lo\"} ") != std::string::npos);
}
