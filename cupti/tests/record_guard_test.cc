// RecordGuard on its own, with a clock the test moves: bucket sizes and refills, per-thread
// buckets apart from each other, the timestamp checks and their tolerance.
#include "cupti/record_guard.h"

#include <gtest/gtest.h>

namespace gputrace::cupti {
namespace {

constexpr uint64_t kSec = 1'000'000'000;

class RecordGuardTest : public ::testing::Test {
 protected:
  uint64_t now = 100 * kSec;
  RecordGuard make(GuardLimits limits) { return RecordGuard(limits, [this] { return now; }); }
  // A sound record of `tid` on `stream`, starting at `start`.
  static RecordGuard::Verdict one(RecordGuard& g, uint64_t start, uint32_t tid = 0, uint64_t stream = 0) {
    return g.admit(start, start + 1000, tid, stream);
  }
};

TEST_F(RecordGuardTest, TheProcessBucketHoldsOneSecondAndRefillsWithTime) {
  RecordGuard g = make({.process_per_s = 100, .thread_per_s = 0});
  int kept = 0;
  for (int i = 0; i < 250; ++i) kept += one(g, now - kSec) == RecordGuard::Verdict::Admit;
  EXPECT_EQ(kept, 100);
  EXPECT_EQ(g.counts().process_rate_limited, 150u);
  now += kSec / 2;  // half a second: 50 more
  kept = 0;
  for (int i = 0; i < 100; ++i) kept += one(g, now - kSec) == RecordGuard::Verdict::Admit;
  EXPECT_EQ(kept, 50);
  now += 10 * kSec;  // never more than one second's worth
  kept = 0;
  for (int i = 0; i < 300; ++i) kept += one(g, now - kSec) == RecordGuard::Verdict::Admit;
  EXPECT_EQ(kept, 100);
}

TEST_F(RecordGuardTest, ThreadsHaveBucketsOfTheirOwnAndDeviceWorkNone) {
  RecordGuard g = make({.process_per_s = 0, .thread_per_s = 10});
  int a = 0, b = 0, device = 0;
  for (int i = 0; i < 30; ++i) {
    a += one(g, now - kSec, 11) == RecordGuard::Verdict::Admit;
    b += one(g, now - kSec, 22) == RecordGuard::Verdict::Admit;
    device += one(g, now - kSec, 0) == RecordGuard::Verdict::Admit;
  }
  EXPECT_EQ(a, 10);
  EXPECT_EQ(b, 10);
  EXPECT_EQ(device, 30);
  EXPECT_EQ(g.counts().thread_rate_limited, 40u);
}

TEST_F(RecordGuardTest, ZeroMeansNoLimit) {
  RecordGuard g = make({.process_per_s = 0, .thread_per_s = 0});
  for (int i = 0; i < 100000; ++i) ASSERT_EQ(one(g, now - kSec, 7), RecordGuard::Verdict::Admit);
}

TEST_F(RecordGuardTest, TimestampsThatCannotBeRight) {
  RecordGuard g = make({.process_per_s = 0, .thread_per_s = 0});
  EXPECT_EQ(g.admit(0, 10, 0, 0), RecordGuard::Verdict::InvalidTimestamp);                   // never started
  EXPECT_EQ(g.admit(now - 10, now - 20, 0, 0), RecordGuard::Verdict::InvalidTimestamp);      // ends before it starts
  EXPECT_EQ(g.admit(now, now + 11 * kSec, 0, 0), RecordGuard::Verdict::InvalidTimestamp);    // ends 11 s ahead
  EXPECT_EQ(g.admit(now, now + 9 * kSec, 0, 0), RecordGuard::Verdict::Admit);                // 9 s: a clock step, kept
  EXPECT_EQ(g.admit(kSec, kSec + 86'401 * kSec, 0, 0), RecordGuard::Verdict::InvalidTimestamp);  // over a day
  EXPECT_EQ(g.counts().invalid_timestamp, 4u);
}

// Kernels of one graph may finish out of order on one stream: within the skew they pass.
TEST_F(RecordGuardTest, OutOfOrderOnlyBeyondTheSkewAndPerStream) {
  RecordGuard g = make({.process_per_s = 0, .thread_per_s = 0, .max_skew_ns = kSec});
  const uint64_t s1 = RecordGuard::stream_key(0, 7), s2 = RecordGuard::stream_key(1, 7);
  EXPECT_EQ(one(g, 50 * kSec, 0, s1), RecordGuard::Verdict::Admit);
  EXPECT_EQ(one(g, 50 * kSec - kSec / 2, 0, s1), RecordGuard::Verdict::Admit);  // half a second back
  EXPECT_EQ(one(g, 48 * kSec, 0, s1), RecordGuard::Verdict::NonMonotonic);      // two seconds back
  EXPECT_EQ(one(g, 10 * kSec, 0, s2), RecordGuard::Verdict::Admit);             // another device's stream
  EXPECT_EQ(one(g, 10 * kSec, 0, 0), RecordGuard::Verdict::Admit);              // no stream: not checked
  EXPECT_EQ(g.counts().non_monotonic, 1u);
}

}  // namespace
}  // namespace gputrace::cupti
