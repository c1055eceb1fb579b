// PauseStats: the GC pause analyzer. Fed every record (it keeps GT_EV_GC_PAUSE and
// GT_EV_GC_CYCLE), it answers per process: how many pauses, their total, maximum and
// percentiles, and the share of wall time the program stood still — with Go's
// stop-the-worlds that were not the collector's (ReadMemStats, GOMAXPROCS, ...) kept apart.
#pragma once

#include "userspace/decode/record.h"
#include "userspace/gc/duration_histogram.h"
#include "userspace/gc/runtime_detect.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gputrace::gc {

struct ProcessPauseSummary {
  int pid = 0;
  int ns_pid = 0;  // differs from pid for a process in another pid namespace
  Runtime runtime = Runtime::None;
  uint64_t count = 0;  // collector pauses (CPython collections, HotSpot pauses, Go GC STWs)
  uint64_t total_ns = 0;
  uint64_t max_ns = 0;
  uint64_t p50_ns = 0, p90_ns = 0, p99_ns = 0;
  double wall_share = 0;  // total_ns / the observed window
  uint64_t full_count = 0;        // HotSpot full collections
  // Collections of the whole heap that a generational collector otherwise avoids: HotSpot's
  // full collections and CPython's generation-2 collections (gc.collect() runs one). Go's
  // collector is not generational: its cycles are not counted here.
  uint64_t full_collections = 0;
  uint64_t unclassified = 0;      // Go STWs whose cause could not be told (counted as GC)
  uint64_t cycles = 0;            // Go GC cycles completed
  uint64_t non_gc_count = 0;      // Go STWs the collector did not cause
  uint64_t non_gc_total_ns = 0;
  uint64_t non_gc_max_ns = 0;
  std::map<std::string, uint64_t> non_gc_reasons;  // reason -> count
};

class PauseStats {
 public:
  void on_record(const Record& r);

  // Wall time the shares are computed against; without it, first..last record seen.
  void set_window(uint64_t begin_ns, uint64_t end_ns);

  std::vector<ProcessPauseSummary> summary() const;  // ordered by pid
  // The collector pauses of one process, nullptr if it never paused.
  const DurationHistogram* gc_histogram(int pid) const;
  std::string format_text() const;

 private:
  struct PerProcess {
    int ns_pid = 0;
    Runtime runtime = Runtime::None;
    DurationHistogram gc;
    DurationHistogram non_gc;
    uint64_t full = 0, full_collections = 0, unclassified = 0, cycles = 0;
    std::map<std::string, uint64_t> reasons;
  };
  void on_pause(const Record& r);
  void on_cycle(const Record& r);

  std::map<int, PerProcess> procs_;
  uint64_t first_ns_ = 0, last_ns_ = 0;
  uint64_t window_begin_ = 0, window_end_ = 0;
};

// Text of a Go STW reason: the runtime's own string (Go < 1.21) or runtime.stwReason's name.
std::string go_stw_reason(uint8_t stw_reason, const char* text, size_t text_len);

}  // namespace gputrace::gc
