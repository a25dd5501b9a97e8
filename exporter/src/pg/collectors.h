#pragma once

#include <memory>
#include <string>

#include "collectors/collector.h"
#include "pg/source.h"

namespace afp::pg {

// The scrape-side face of a PostgreSQL collector: takes its part of the shared snapshot.
std::unique_ptr<collectors::Collector> make_collector(std::shared_ptr<Source> source,
                                                      std::string name);
// `postgres`: pg_up, 1 when the exporter could connect and run a query, and while it is 1
// pg_postmaster_start_time_seconds, when PostgreSQL started (seconds since the epoch).
std::unique_ptr<collectors::Collector> make_up_collector(std::shared_ptr<Source> source);

}  // namespace afp::pg
