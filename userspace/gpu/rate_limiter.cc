#include "gpu/rate_limiter.h"

#include <algorithm>

namespace gputrace {

bool PidRateLimiter::admit(uint32_t pid, uint64_t records, uint64_t now_ns) {
  auto it = buckets_.find(pid);
  if (it == buckets_.end()) {
    if (buckets_.size() >= limit_.max_processes) evict_least_recent();
    it = buckets_.emplace(pid, Bucket{limit_.burst_records, now_ns}).first;
  }
  Bucket& b = it->second;
  if (now_ns > b.last_ns) {
    const double refill = static_cast<double>(now_ns - b.last_ns) * 1e-9 * limit_.records_per_second;
    b.tokens = std::min(limit_.burst_records, b.tokens + refill);
    b.last_ns = now_ns;
  }
  if (static_cast<double>(records) > b.tokens) return false;
  b.tokens -= static_cast<double>(records);
  return true;
}

void PidRateLimiter::evict_least_recent() {
  auto oldest = std::min_element(buckets_.begin(), buckets_.end(),
                                 [](const auto& a, const auto& b) { return a.second.last_ns < b.second.last_ns; });
  if (oldest != buckets_.end()) buckets_.erase(oldest);
}

}  // namespace gputrace
