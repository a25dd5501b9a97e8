#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace afp::collectors {

// Defaults follow node_exporter 1.5.0, so the same mounts and devices are reported.
inline constexpr const char* kDefaultMountPointsExclude =
    "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)";
inline constexpr const char* kDefaultFsTypesExclude =
    "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|"
    "mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|"
    "tracefs)$";
// Whole disks only: partitions, RAM disks, loop and floppy devices are skipped.
inline constexpr const char* kDefaultDiskDeviceExclude =
    "^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$";

// The exclude pattern a filesystem filter applies, as node_exporter 1.9 decides it: an include
// pattern drops the default exclude pattern (a non-default one given with it is refused when
// the options are parsed, see config/options.cpp).
inline std::string_view effective_exclude(std::string_view include, std::string_view exclude,
                                          std::string_view default_exclude) {
  return !include.empty() && exclude == default_exclude ? std::string_view() : exclude;
}

// What the system collectors are configured with; filled from flags and the config file.
// The PostgreSQL collectors' settings are pg::CollectorSettings (pg/settings.h).
struct CollectorSettings {
  std::string procfs = "/proc";
  std::string sysfs = "/sys";
  std::string rootfs = "/";
  std::string mount_points_exclude = kDefaultMountPointsExclude;
  std::string mount_points_include;  // empty: every mount point not excluded
  std::string fs_types_exclude = kDefaultFsTypesExclude;
  std::string fs_types_include;  // empty: every filesystem type not excluded
  std::chrono::milliseconds mount_timeout{5000};
  std::string disk_device_exclude = kDefaultDiskDeviceExclude;
  std::string netdev_device_include;  // empty: every device
  std::string netdev_device_exclude;  // empty: none
};

}  // namespace afp::collectors
