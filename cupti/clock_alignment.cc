#include "clock_alignment.h"

#include <time.h>

#include <limits>

namespace gputrace::cupti {

uint64_t ClockAlignment::monotonic_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void ClockAlignment::use_callback() {
  offset_ns_.store(0, std::memory_order_relaxed);
  error_ns_.store(0, std::memory_order_relaxed);
  mode_.store(GT_GPU_CLOCK_MONOTONIC, std::memory_order_relaxed);
}

bool ClockAlignment::calibrate(const std::function<bool(uint64_t&)>& read_cupti_clock, int rounds) {
  uint64_t best_width = std::numeric_limits<uint64_t>::max();
  int64_t best_offset = 0;
  for (int i = 0; i < rounds; ++i) {
    uint64_t cupti_ts = 0;
    const uint64_t before = monotonic_now();
    if (!read_cupti_clock(cupti_ts)) continue;
    const uint64_t after = monotonic_now();
    // A preempted read shows as a wide bracket; the narrowest one bounds the error best.
    if (after - before < best_width) {
      best_width = after - before;
      best_offset = static_cast<int64_t>(before + best_width / 2 - cupti_ts);
    }
  }
  if (best_width == std::numeric_limits<uint64_t>::max()) {
    if (mode() != GT_GPU_CLOCK_MONOTONIC) mode_.store(GT_GPU_CLOCK_RAW, std::memory_order_relaxed);
    return false;
  }
  offset_ns_.store(best_offset, std::memory_order_relaxed);
  error_ns_.store(best_width / 2 + 1, std::memory_order_relaxed);
  mode_.store(GT_GPU_CLOCK_CALIBRATED, std::memory_order_relaxed);
  return true;
}

}  // namespace gputrace::cupti
