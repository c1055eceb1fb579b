#include "userspace/gc/duration_histogram.h"

#include <bit>
#include <cmath>

namespace gputrace::gc {

// Values below kSub get one bucket each; above, a power of two splits into kSub buckets.
int DurationHistogram::bucket_of(uint64_t ns) {
  if (ns < kSub) return static_cast<int>(ns);
  const int exp = 63 - std::countl_zero(ns);  // >= kSubBits
  const int shift = exp - kSubBits;
  const auto mantissa = static_cast<int>((ns >> shift) & (kSub - 1));
  return (shift + 1) * kSub + mantissa;
}

uint64_t DurationHistogram::bucket_low(int b) {
  if (b < kSub) return static_cast<uint64_t>(b);
  const int shift = b / kSub - 1;
  const auto mantissa = static_cast<uint64_t>(b % kSub);
  return (uint64_t{kSub} + mantissa) << shift;
}

void DurationHistogram::add(uint64_t ns) {
  ++buckets_[static_cast<size_t>(bucket_of(ns))];
  ++count_;
  total_ += ns;
  if (ns > max_) max_ = ns;
}

uint64_t DurationHistogram::percentile(double q) const {
  if (count_ == 0) return 0;
  // nearest rank: the smallest value with at least q*count values at or below it
  const auto rank = static_cast<uint64_t>(std::max(1.0, std::ceil(q * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += buckets_[static_cast<size_t>(b)];
    if (seen < rank) continue;
    const uint64_t low = bucket_low(b);
    const uint64_t high = b + 1 < kBuckets ? bucket_low(b + 1) : low;
    const uint64_t mid = low + (high - low) / 2;
    return mid > max_ ? max_ : mid;
  }
  return max_;
}

uint64_t DurationHistogram::count_at_most(uint64_t ns) const {
  uint64_t n = 0;
  for (int b = 0; b < kBuckets && bucket_low(b) <= ns; ++b) n += buckets_[static_cast<size_t>(b)];
  return n;
}

}  // namespace gputrace::gc
