#include "cupti/clock_alignment.h"

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
  bracket_error_ns_.store(0, std::memory_order_relaxed);
  last_change_ns_.store(0, std::memory_order_relaxed);
  mode_.store(GT_GPU_CLOCK_MONOTONIC, std::memory_order_relaxed);
}

bool ClockAlignment::calibrate(const std::function<bool(uint64_t&)>& read_cupti_clock, int rounds) {
  uint64_t best_width = std::numeric_limits<uint64_t>::max();
  int64_t best_offset = 0;
  uint64_t best_at = 0;
  for (int i = 0; i < rounds; ++i) {
    uint64_t cupti_ts = 0;
    const uint64_t before = monotonic_now();
    if (!read_cupti_clock(cupti_ts)) continue;
    const uint64_t after = monotonic_now();
    // A preempted read shows as a wide bracket; the narrowest one bounds the error best.
    if (after - before < best_width) {
      best_width = after - before;
      best_at = before + best_width / 2;
      best_offset = static_cast<int64_t>(best_at - cupti_ts);
    }
  }
  if (best_width == std::numeric_limits<uint64_t>::max()) {
    if (mode() != GT_GPU_CLOCK_MONOTONIC) mode_.store(GT_GPU_CLOCK_RAW, std::memory_order_relaxed);
    return false;
  }
  const bool had_offset = mode() == GT_GPU_CLOCK_CALIBRATED;
  const int64_t change = had_offset ? best_offset - offset_ns() : 0;
  offset_ns_.store(best_offset, std::memory_order_relaxed);
  bracket_error_ns_.store(best_width / 2 + 1, std::memory_order_relaxed);
  last_change_ns_.store(static_cast<uint64_t>(change < 0 ? -change : change), std::memory_order_relaxed);
  calibrated_at_ns_.store(best_at, std::memory_order_relaxed);
  mode_.store(GT_GPU_CLOCK_CALIBRATED, std::memory_order_relaxed);
  return true;
}

uint64_t ClockAlignment::error_ns(uint64_t now_ns) const {
  if (mode() != GT_GPU_CLOCK_CALIBRATED) return 0;  // exact (MONOTONIC) or unknown (RAW)
  const uint64_t at = calibrated_at_ns_.load(std::memory_order_relaxed);
  const uint64_t age = now_ns > at ? now_ns - at : 0;
  return bracket_error_ns_.load(std::memory_order_relaxed) + last_change_ns_.load(std::memory_order_relaxed) +
         age / 1'000'000 * kDriftPpm + (age % 1'000'000) * kDriftPpm / 1'000'000;
}

}  // namespace gputrace::cupti
