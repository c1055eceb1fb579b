// FixedHistogram: how many observations fell at or below each of a fixed list of upper bounds,
// with their count and sum — the shape of a Prometheus histogram and of an OTLP explicit-bucket
// histogram, so the exporters ship it as it is, exact, without interpolating. The bounds are a
// template argument: every histogram of one quantity shares them, and one costs only its counts.
//
//   inline constexpr std::array<double, 3> kBounds{1e3, 1e4, 1e5};
//   FixedHistogram<kBounds> h;
//   h.add(2500);                 // h.at_most(0) == 0, h.at_most(1) == 1, h.count() == 1
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>

namespace gputrace {

template <const auto& kBounds>
class FixedHistogram {
 public:
  static constexpr size_t kSize = std::tuple_size_v<std::remove_cvref_t<decltype(kBounds)>>;
  static constexpr const auto& bounds() { return kBounds; }

  // A value that is not finite (a copy of zero duration has no bandwidth) is not counted: it
  // would make the sum unexportable.
  void add(double v) {
    if (!std::isfinite(v)) return;
    // the first bound >= v: a bucket holds the values at or below its bound (Prometheus's "le")
    const auto it = std::lower_bound(kBounds.begin(), kBounds.end(), v);
    ++per_bucket_[static_cast<size_t>(it - kBounds.begin())];
    ++count_;
    sum_ += v;
  }

  // Observations at or below kBounds[i].
  uint64_t at_most(size_t i) const {
    uint64_t n = 0;
    for (size_t b = 0; b <= i && b < kSize; ++b) n += per_bucket_[b];
    return n;
  }
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::array<uint64_t, kSize + 1> per_bucket_{};  // the last: above every bound
  uint64_t count_ = 0;
  double sum_ = 0;
};

}  // namespace gputrace
