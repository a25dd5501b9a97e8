#pragma once

// The pipeline's parts as collectors, so /metrics and the per-collector self-metrics treat
// them like every other source.

#include <memory>

#include "collectors/collector.h"

namespace afp::pipeline {

class Store;
class Probe;

std::unique_ptr<collectors::Collector> make_store_collector(std::shared_ptr<const Store> store);
std::unique_ptr<collectors::Collector> make_probe_collector(std::shared_ptr<const Probe> probe);

}  // namespace afp::pipeline
