#include "observation_queue.h"

#include <algorithm>
#include <iterator>

namespace afp::workload {

void ObservationQueue::push(ReportObservation observation) {
  items_.push_back(std::move(observation));
  trim();
}

std::vector<ReportObservation> ObservationQueue::take(std::size_t max) {
  auto n = static_cast<std::ptrdiff_t>(std::min(max, items_.size()));
  std::vector<ReportObservation> batch(std::make_move_iterator(items_.begin()),
                                       std::make_move_iterator(items_.begin() + n));
  items_.erase(items_.begin(), items_.begin() + n);
  return batch;
}

void ObservationQueue::give_back(std::vector<ReportObservation> batch) {
  items_.insert(items_.begin(), std::make_move_iterator(batch.begin()),
                std::make_move_iterator(batch.end()));
  trim();
}

std::uint64_t ObservationQueue::take_dropped() {
  auto n = dropped_;
  dropped_ = 0;
  return n;
}

void ObservationQueue::trim() {
  while (items_.size() > capacity_) {
    items_.pop_front();
    ++dropped_;
  }
}

}  // namespace afp::workload
