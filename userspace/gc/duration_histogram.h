// DurationHistogram: a bounded log-linear histogram of durations (ns) that answers
// percentiles within 1/64 relative error, so a process with millions of pauses costs the
// same memory as one with ten. Count, total and max are exact.
#pragma once

#include <array>
#include <cstdint>

namespace gputrace::gc {

class DurationHistogram {
 public:
  void add(uint64_t ns);
  // q in [0, 1]; 0 when empty. Returns the middle of the bucket holding the q-th value, or
  // the exact maximum for the top bucket.
  uint64_t percentile(double q) const;
  // Values at or below ns, at bucket resolution: a bucket straddling ns counts as below.
  uint64_t count_at_most(uint64_t ns) const;
  uint64_t count() const { return count_; }
  uint64_t total() const { return total_; }
  uint64_t max() const { return max_; }

 private:
  static constexpr int kSubBits = 5;  // 32 buckets per power of two
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;
  static int bucket_of(uint64_t ns);
  static uint64_t bucket_low(int b);

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

}  // namespace gputrace::gc
