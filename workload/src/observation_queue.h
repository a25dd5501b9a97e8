#pragma once

// The reporter's backlog: bounded, so an exporter that stays away costs bounded memory; the
// oldest observations go first when it is full (the recent ones say more about now).

#include <cstdint>
#include <deque>
#include <vector>

#include "report_observation.h"

namespace afp::workload {

class ObservationQueue {
 public:
  explicit ObservationQueue(std::size_t capacity) : capacity_(capacity) {}

  void push(ReportObservation observation);
  // Removes and returns up to `max` of the oldest.
  std::vector<ReportObservation> take(std::size_t max);
  // Puts a batch that could not be sent back in front, in its order; whatever no longer
  // fits behind the newer arrivals is dropped from the oldest end.
  void give_back(std::vector<ReportObservation> batch);

  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  // Dropped for lack of room since the last call.
  std::uint64_t take_dropped();

 private:
  void trim();

  std::size_t capacity_;
  std::deque<ReportObservation> items_;
  std::uint64_t dropped_ = 0;
};

}  // namespace afp::workload
