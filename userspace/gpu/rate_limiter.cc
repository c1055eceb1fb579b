#include "userspace/gpu/rate_limiter.h"

#include <algorithm>

namespace gputrace {

PidRateLimiter::PidRateLimiter(RateLimit limit) : limit_(limit), host_{limit.host_burst_records, 0} {}

void PidRateLimiter::Bucket::refill(uint64_t now_ns, double per_second, double burst) {
  if (now_ns <= last_ns) return;
  tokens = std::min(burst, tokens + static_cast<double>(now_ns - last_ns) * 1e-9 * per_second);
  last_ns = now_ns;
}

bool PidRateLimiter::admit(uint32_t pid, uint64_t records, uint64_t bytes, uint64_t now_ns) {
  auto it = buckets_.find(pid);
  if (it == buckets_.end()) {
    if (buckets_.size() >= limit_.max_processes) evict_least_recent();
    it = buckets_.emplace(pid, Bucket{limit_.burst_records, now_ns}).first;
  }
  Bucket& own = it->second;
  own.refill(now_ns, limit_.records_per_second, limit_.burst_records);
  host_.refill(now_ns, limit_.host_records_per_second, limit_.host_burst_records);
  const auto cost = static_cast<double>(std::max(records, bytes / kBytesPerToken));
  if (cost > own.tokens || cost > host_.tokens) return false;
  own.tokens -= cost;
  host_.tokens -= cost;
  return true;
}

void PidRateLimiter::evict_least_recent() {
  auto oldest = std::min_element(buckets_.begin(), buckets_.end(),
                                 [](const auto& a, const auto& b) { return a.second.last_ns < b.second.last_ns; });
  if (oldest != buckets_.end()) buckets_.erase(oldest);
}

}  // namespace gputrace
