// GrowthDetector: spots a device whose outstanding DMA mappings grow steadily (the
// dma_mapping_growth finding). Each sample is the lowest outstanding count/bytes seen during
// its period, so in-flight I/O (mapped at submit, unmapped at completion) does not look like
// growth while leaked mappings, which raise the floor, do. Growth must be monotonic over the
// whole window, reach a minimum, and each third of the window must add at least a sixth of
// that minimum: a driver that allocates its rings once and then holds them (a step) is not
// a leak, even when a trickle follows.
#pragma once

#include "userspace/model/analysis_config.h"
#include "userspace/model/finding.h"
#include "userspace/analyze/mappings.h"
#include "userspace/tables/device_table.h"

#include <cstdint>
#include <deque>
#include <vector>

namespace gputrace {

class GrowthDetector {
 public:
  GrowthDetector(GrowthConfig config, const DeviceTable& devices, MappingTracker& mappings, FindingSink& findings);

  // Takes every sample whose time is before now_ns (all records before now_ns seen).
  void run_due(uint64_t now_ns);
  uint64_t next_due_ns() const { return next_sample_ns_; }
  // The first record's time: sampling starts one period after it.
  void start_at(uint64_t first_ts);

 private:
  struct Sample {
    uint64_t ts = 0;
    uint64_t count = 0;
    uint64_t bytes = 0;
  };
  struct DeviceSeries {
    std::deque<Sample> samples;  // the last window, oldest first
    bool reported = false;       // re-armed when the floor drops
  };

  void sample(uint64_t at_ns);
  void evaluate(uint32_t device, DeviceSeries& series);
  bool grows_steadily(const std::deque<Sample>& s, uint64_t Sample::*metric, uint64_t minimum) const;
  void report(uint32_t device, const DeviceSeries& series, const char* metric);

  GrowthConfig config_;
  const DeviceTable& devices_;
  MappingTracker& mappings_;
  FindingSink& findings_;
  std::vector<DeviceSeries> series_;
  uint64_t next_sample_ns_ = UINT64_MAX;
};

}  // namespace gputrace
