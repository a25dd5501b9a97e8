// The metric names node_exporter's node-mixin (its recording rules, alerts and the
// dashboards' instance picker) and the "Node Exporter Full" dashboard query, against a
// full scrape of the exporter over the default fixture tree. Names only, gathered by hand
// from node-mixin's rules/rules.libsonnet, alerts/alerts.libsonnet (and its successor
// lib/linux/alerts/alerts.libsonnet) and dashboards; docs/compatibility.md says the same.
#include <string>
#include <string_view>
#include <vector>

#include "config/options.h"
#include "golden.h"
#include "http_client.h"
#include "running_app.h"

using namespace afp;

namespace {

// Recording rules (node-exporter.rules).
const std::vector<std::string_view> kRuleMetrics{
    "node_cpu_seconds_total",
    "node_load1",
    "node_memory_MemAvailable_bytes",
    "node_memory_Buffers_bytes",
    "node_memory_Cached_bytes",
    "node_memory_MemFree_bytes",
    "node_memory_Slab_bytes",
    "node_memory_MemTotal_bytes",
    "node_vmstat_pgmajfault",
    "node_disk_io_time_seconds_total",
    "node_disk_io_time_weighted_seconds_total",
    "node_network_receive_bytes_total",
    "node_network_transmit_bytes_total",
    "node_network_receive_drop_total",
    "node_network_transmit_drop_total",
};

// Alerts (node-exporter-filesystem and node-exporter groups) that our collectors serve.
const std::vector<std::string_view> kAlertMetrics{
    "node_filesystem_avail_bytes",               // NodeFilesystemSpaceFillingUp, AlmostOutOfSpace
    "node_filesystem_size_bytes",                //
    "node_filesystem_readonly",                  // all filesystem alerts
    "node_filesystem_files_free",                // NodeFilesystemFilesFillingUp, AlmostOutOfFiles
    "node_filesystem_files",                     //
    "node_network_receive_errs_total",           // NodeNetworkReceiveErrs
    "node_network_receive_packets_total",        //
    "node_network_transmit_errs_total",          // NodeNetworkTransmitErrs
    "node_network_transmit_packets_total",       //
    "node_filefd_allocated",                     // NodeFileDescriptorLimit
    "node_filefd_maximum",                       //
    "node_cpu_seconds_total",                    // NodeCPUHighUsage, NodeSystemSaturation
    "node_load1",                                // NodeSystemSaturation
    "node_vmstat_pgmajfault",                    // NodeMemoryMajorPagesFaults
    "node_memory_MemAvailable_bytes",            // NodeMemoryHighUtilization
    "node_memory_MemTotal_bytes",                //
    "node_disk_io_time_weighted_seconds_total",  // NodeDiskIOSaturation
    "node_network_up",                           // NodeNetworkInterfaceFlapping (kube-prometheus)
};

// Dashboards: the instance picker (node_uname_info), uptime, and the panels of the node
// and "Node Exporter Full" dashboards that our collectors serve.
const std::vector<std::string_view> kDashboardMetrics{
    "node_uname_info",
    "node_os_info",
    "node_os_version",
    "node_boot_time_seconds",
    "node_time_seconds",
    "node_time_zone_offset_seconds",
    "node_load5",
    "node_load15",
    "node_context_switches_total",
    "node_intr_total",
    "node_forks_total",
    "node_procs_running",
    "node_procs_blocked",
    "node_vmstat_pgfault",
    "node_vmstat_pgpgin",
    "node_vmstat_pgpgout",
    "node_vmstat_pswpin",
    "node_vmstat_pswpout",
    "node_vmstat_oom_kill",
    "node_memory_SwapTotal_bytes",
    "node_memory_SwapFree_bytes",
    "node_disk_read_bytes_total",
    "node_disk_written_bytes_total",
    "node_disk_reads_completed_total",
    "node_disk_writes_completed_total",
    "node_disk_io_now",
    "node_filesystem_free_bytes",
    "node_filesystem_device_error",
    "node_network_info",
    "node_network_carrier",
    "node_network_mtu_bytes",
    "node_network_speed_bytes",
    "node_network_transmit_queue_length",
    "node_network_receive_multicast_total",
    "node_network_receive_fifo_total",
    "node_network_transmit_fifo_total",
    "node_network_receive_compressed_total",
    "node_network_transmit_compressed_total",
};

struct NotExported {
  std::string_view name;
  std::string_view reason;
};

// Names node-mixin's alerts use that the exporter deliberately does not export; the alerts
// on them never fire against it. docs/compatibility.md lists the same collectors.
const std::vector<NotExported> kNotExported{
    {"node_nf_conntrack_entries", "conntrack collector not implemented (not this service's)"},
    {"node_nf_conntrack_entries_limit", "conntrack collector not implemented"},
    {"node_textfile_scrape_error", "no textfile collector: the app pushes over HTTP/statsd"},
    {"node_timex_offset_seconds", "timex collector (adjtimex) not implemented"},
    {"node_timex_sync_status", "timex collector not implemented"},
    {"node_timex_maxerror_seconds", "timex collector not implemented"},
    {"node_md_disks_required", "mdadm collector not implemented"},
    {"node_md_disks", "mdadm collector not implemented"},
    {"node_systemd_unit_state",
     "systemd collector (D-Bus) not implemented; off by default "
     "in node_exporter too"},
    {"node_systemd_service_restart_total", "systemd collector not implemented"},
    {"node_bonding_slaves", "bonding collector not implemented"},
    {"node_bonding_active", "bonding collector not implemented"},
    {"node_hwmon_temp_celsius",
     "hwmon collector not implemented (alert only with "
     "enableHardware)"},
};

bool has_family(const std::string& scrape, std::string_view name) {
  return scrape.find("\n# TYPE " + std::string(name) + " ") != std::string::npos;
}

std::string full_scrape() {
  config::Options o;
  o.listen_addresses = {"127.0.0.1:0"};
  o.collectors = test::fixture_settings();
  test::RunningApp r(o);
  auto res = test::http_request(r.base + "/metrics");
  REQUIRE(res.status == 200);
  return "\n" + res.body;
}

}  // namespace

TEST_CASE("a full scrape has every metric node-mixin's rules, alerts and dashboards use",
          "[node_mixin][compat]") {
  auto scrape = full_scrape();
  for (const auto* list : {&kRuleMetrics, &kAlertMetrics, &kDashboardMetrics}) {
    for (auto name : *list) {
      INFO(name);
      CHECK(has_family(scrape, name));
    }
  }
  for (const auto& [name, reason] : kNotExported) {
    INFO(name << ": listed as not exported (" << reason << ") but the scrape has it");
    CHECK_FALSE(has_family(scrape, name));
  }
  // The instance picker's query, label_values(node_uname_info{...}, instance), needs one
  // series; Prometheus adds instance.
  CHECK(test::count(scrape, "\nnode_uname_info{") == 1);
}
