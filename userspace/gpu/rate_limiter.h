// PidRateLimiter: a token bucket per sending process, so one process (buggy or hostile) cannot
// flood the daemon with GPU records. The table is bounded: when full, the process heard from
// least recently is forgotten (and starts again with a full bucket).
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace gputrace {

struct RateLimit {
  double records_per_second = 2'000'000;  // far above what CUPTI produces for one process
  double burst_records = 500'000;         // one flush period of a launch-heavy process, with room
  size_t max_processes = 4096;
};

class PidRateLimiter {
 public:
  explicit PidRateLimiter(RateLimit limit) : limit_(limit) {}

  // Takes `records` tokens from pid's bucket; false (and nothing taken) if it has too few.
  bool admit(uint32_t pid, uint64_t records, uint64_t now_ns);
  size_t tracked() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    uint64_t last_ns;
  };
  void evict_least_recent();

  RateLimit limit_;
  std::unordered_map<uint32_t, Bucket> buckets_;
};

}  // namespace gputrace
