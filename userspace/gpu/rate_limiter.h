// PidRateLimiter: token buckets that keep served processes (buggy or hostile) from flooding
// the daemon with GPU records: one per sending process, and one for all of them together,
// since a process that forks gets a fresh per-process bucket in every child. The per-process
// table is bounded: when full, the process heard from least recently is forgotten (and
// starts again with a full bucket).
//
// A token is one record or kBytesPerToken bytes of records, whichever costs more, so a batch
// of long names costs what its bytes cost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace gputrace {

struct RateLimit {
  double records_per_second = 2'000'000;  // far above what CUPTI produces for one process
  double burst_records = 500'000;         // one flush period of a launch-heavy process, with room
  double host_records_per_second = 8'000'000;  // every process together
  double host_burst_records = 2'000'000;
  size_t max_processes = 4096;
};

class PidRateLimiter {
 public:
  static constexpr uint64_t kBytesPerToken = 128;  // a kernel record is 88 bytes: one token

  explicit PidRateLimiter(RateLimit limit);

  // Takes the tokens `records` records of `bytes` bytes cost from pid's bucket and the
  // host's; false (and nothing taken) if either has too few.
  bool admit(uint32_t pid, uint64_t records, uint64_t bytes, uint64_t now_ns);
  size_t tracked() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    uint64_t last_ns;
    void refill(uint64_t now_ns, double per_second, double burst);
  };
  void evict_least_recent();

  RateLimit limit_;
  Bucket host_;
  std::unordered_map<uint32_t, Bucket> buckets_;
};

}  // namespace gputrace
