// ClockAlignment: puts CUPTI timestamps on CLOCK_MONOTONIC, the clock of every other
// gputrace record (bpf_ktime_get_ns).
//
// Preferred: CUPTI stamps activity with our own callback (monotonic_now), so timestamps are
// exact and the offset is 0. Where CUPTI refuses the callback, calibrate() measures the offset
// to CUPTI's own (realtime-based) clock: it brackets one CUPTI read between two monotonic
// reads and keeps the tightest bracket of many. Realtime is slewed and stepped, so the owner
// recalibrates on every flush. Reads and writes are atomic: CUPTI's threads convert while the
// flush thread recalibrates; a converter reads offset_ns() once per buffer, so a
// recalibration in the middle cannot give a record an end before its start.
#pragma once

extern "C" {
#include "bpf/gpu.h"
}

#include <atomic>
#include <cstdint>
#include <functional>

namespace gputrace::cupti {

class ClockAlignment {
 public:
  // How far CUPTI's clock may drift from CLOCK_MONOTONIC between calibrations: NTP slews
  // realtime by at most 500 ppm (adjtimex's limit), and both clocks run from the same counter.
  static constexpr uint64_t kDriftPpm = 500;

  static uint64_t monotonic_now();

  // CUPTI timestamp -> CLOCK_MONOTONIC with an offset read once (offset_ns()).
  static uint64_t to_monotonic(uint64_t cupti_ts, int64_t offset_ns) {
    if (cupti_ts == 0) return 0;  // CUPTI leaves 0 where it has no timestamp
    return cupti_ts + static_cast<uint64_t>(offset_ns);
  }

  // CUPTI accepted the monotonic timestamp callback.
  void use_callback();
  // Reads CUPTI's clock `rounds` times; false (and RAW mode) if every read failed.
  bool calibrate(const std::function<bool(uint64_t&)>& read_cupti_clock, int rounds);

  gt_gpu_clock_mode mode() const { return mode_.load(std::memory_order_relaxed); }
  int64_t offset_ns() const { return offset_ns_.load(std::memory_order_relaxed); }
  // Bound on |converted - true monotonic| for a timestamp converted at now_ns (CALIBRATED):
  // half the tightest read bracket, plus how far the offset moved at the last calibration
  // (activity stamped before it was converted after it), plus drift since the calibration.
  uint64_t error_ns(uint64_t now_ns) const;

 private:
  std::atomic<gt_gpu_clock_mode> mode_{GT_GPU_CLOCK_RAW};
  std::atomic<int64_t> offset_ns_{0};
  std::atomic<uint64_t> bracket_error_ns_{0};
  std::atomic<uint64_t> last_change_ns_{0};
  std::atomic<uint64_t> calibrated_at_ns_{0};
};

}  // namespace gputrace::cupti
