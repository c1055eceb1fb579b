// ClockAlignment: puts CUPTI timestamps on CLOCK_MONOTONIC, the clock of every other
// gputrace record (bpf_ktime_get_ns).
//
// Preferred: CUPTI stamps activity with our own callback (monotonic_now), so timestamps are
// exact and to_monotonic() is the identity. Where CUPTI refuses the callback, calibrate()
// measures the offset to CUPTI's own (realtime-based) clock: it brackets one CUPTI read
// between two monotonic reads, keeps the tightest bracket of many, and reports half its
// width as the error bound. Realtime is slewed and stepped, so the owner recalibrates on
// every flush. Reads and writes are atomic: CUPTI's threads convert while the flush thread
// recalibrates.
#pragma once

extern "C" {
#include "gpu.h"
}

#include <atomic>
#include <cstdint>
#include <functional>

namespace gputrace::cupti {

class ClockAlignment {
 public:
  static uint64_t monotonic_now();

  // CUPTI accepted the monotonic timestamp callback.
  void use_callback();
  // Reads CUPTI's clock `rounds` times; false (and RAW mode) if every read failed.
  bool calibrate(const std::function<bool(uint64_t&)>& read_cupti_clock, int rounds);

  uint64_t to_monotonic(uint64_t cupti_ts) const {
    if (cupti_ts == 0) return 0;  // CUPTI leaves 0 where it has no timestamp
    return cupti_ts + static_cast<uint64_t>(offset_ns_.load(std::memory_order_relaxed));
  }

  gt_gpu_clock_mode mode() const { return mode_.load(std::memory_order_relaxed); }
  int64_t offset_ns() const { return offset_ns_.load(std::memory_order_relaxed); }
  uint64_t error_ns() const { return error_ns_.load(std::memory_order_relaxed); }

 private:
  std::atomic<gt_gpu_clock_mode> mode_{GT_GPU_CLOCK_RAW};
  std::atomic<int64_t> offset_ns_{0};
  std::atomic<uint64_t> error_ns_{0};
};

}  // namespace gputrace::cupti
