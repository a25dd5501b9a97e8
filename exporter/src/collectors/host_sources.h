#pragma once

// What the uname and time collectors read from the kernel rather than from a file, behind
// a function so that tests can fix it (the golden files cannot hold this host's uname).

#include <functional>
#include <memory>
#include <string>

#include "collectors/collector.h"

namespace afp::collectors {

struct UnameFields {
  std::string sysname;
  std::string release;
  std::string version;
  std::string machine;
  std::string nodename;
  std::string domainname;
};
// uname(2); throws CollectError when it fails.
UnameFields system_uname();
std::unique_ptr<Collector> make_uname_collector(std::function<UnameFields()> source);

struct ClockReading {
  double seconds_since_epoch = 0;
  std::string zone;  // the local zone's abbreviation, e.g. "UTC" or "CET"
  double zone_offset_seconds = 0;
};
// clock_gettime(CLOCK_REALTIME) and the local time zone (localtime_r).
ClockReading system_clock_reading();
std::unique_ptr<Collector> make_time_collector(std::function<ClockReading()> source);

}  // namespace afp::collectors
