// ClockAlignment's error bound: what the status record promises about calibrated timestamps.
#include "cupti/clock_alignment.h"

#include <gtest/gtest.h>

namespace gputrace::cupti {
namespace {

// A fake CUPTI clock `behind_ns` behind CLOCK_MONOTONIC.
auto clock_behind(int64_t& behind_ns) {
  return [&behind_ns](uint64_t& ts) {
    ts = ClockAlignment::monotonic_now() - static_cast<uint64_t>(behind_ns);
    return true;
  };
}

TEST(ClockAlignment, ErrorBoundGrowsWithDriftSinceCalibration) {
  ClockAlignment clock;
  int64_t behind = 1'000'000'000;
  ASSERT_TRUE(clock.calibrate(clock_behind(behind), 50));
  const uint64_t now = ClockAlignment::monotonic_now();
  const uint64_t fresh = clock.error_ns(now);
  EXPECT_GT(fresh, 0u);
  // 10 s later, 500 ppm of drift may have accumulated: 5 ms.
  EXPECT_GE(clock.error_ns(now + 10'000'000'000ull), fresh + 4'999'000);
  EXPECT_LE(clock.error_ns(now + 10'000'000'000ull), fresh + 5'001'000);
}

TEST(ClockAlignment, ErrorBoundCoversTheLastOffsetChange) {
  ClockAlignment clock;
  int64_t behind = 1'000'000'000;
  ASSERT_TRUE(clock.calibrate(clock_behind(behind), 50));
  behind += 3'000'000;  // realtime stepped by 3 ms between two calibrations
  ASSERT_TRUE(clock.calibrate(clock_behind(behind), 50));
  EXPECT_GE(clock.error_ns(ClockAlignment::monotonic_now()), 3'000'000u);
  ASSERT_TRUE(clock.calibrate(clock_behind(behind), 50));  // steady again
  EXPECT_LT(clock.error_ns(ClockAlignment::monotonic_now()), 1'000'000u);
}

TEST(ClockAlignment, ExactWithTheCallbackAndUnknownWithoutAnyClock) {
  ClockAlignment clock;
  int64_t behind = 1'000'000'000;
  ASSERT_TRUE(clock.calibrate(clock_behind(behind), 5));
  clock.use_callback();
  EXPECT_EQ(clock.mode(), GT_GPU_CLOCK_MONOTONIC);
  EXPECT_EQ(clock.offset_ns(), 0);
  EXPECT_EQ(clock.error_ns(ClockAlignment::monotonic_now() + 10'000'000'000ull), 0u);
  ClockAlignment broken;
  EXPECT_FALSE(broken.calibrate([](uint64_t&) { return false; }, 5));
  EXPECT_EQ(broken.mode(), GT_GPU_CLOCK_RAW);
}

TEST(ClockAlignment, ZeroStaysZero) {
  EXPECT_EQ(ClockAlignment::to_monotonic(0, 12345), 0u);
  EXPECT_EQ(ClockAlignment::to_monotonic(100, 12345), 12445u);
  EXPECT_EQ(ClockAlignment::to_monotonic(100'000, -500), 99'500u);
}

}  // namespace
}  // namespace gputrace::cupti
