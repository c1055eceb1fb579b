// UidByteBudget: how many bytes each local user may hand the CUPTI socket, as a token bucket
// per uid (a steady rate and a burst), so one user's flood of valid batches cannot grow a
// capture or the daemon's memory without bound while other users' batches still get in.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <unordered_map>

namespace gputrace {

class UidByteBudget {
 public:
  using Clock = std::chrono::steady_clock;
  // 0 bytes_per_second: no limit.
  UidByteBudget(uint64_t bytes_per_second, uint64_t burst_bytes)
      : rate_(static_cast<double>(bytes_per_second)), burst_(static_cast<double>(burst_bytes)) {}

  // Takes bytes from uid's budget at now; false (and nothing taken) when it has too few.
  bool take(uid_t uid, uint64_t bytes, Clock::time_point now);

 private:
  struct Bucket {
    double tokens;
    Clock::time_point refilled;
  };
  double rate_, burst_;
  std::unordered_map<uid_t, Bucket> buckets_;  // one per user seen: bounded by the uids in use
};

}  // namespace gputrace
