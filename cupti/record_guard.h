// RecordGuard: decides, record by record, whether a converted GPU record may leave the
// process. It drops, and counts by reason, records whose timestamps cannot be right (ending
// more than 10 s in the future, lasting over a day, or starting far before the latest record
// of their stream: CUPTI's clock or buffers went wrong, as seen after ~25 M records with CUDA
// graphs in parcagpu #23), and records over the rate limits: one token bucket for the whole
// process and one per thread for records that name a thread (API calls: a thread polling
// cudaStreamQuery in a loop floods them). A bucket holds one second of its rate.
//
// Not thread-safe: ActivityProcessor serialises access.
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_map>

namespace gputrace::cupti {

struct GuardLimits {
  uint32_t process_per_s = 1'000'000;  // 0: no limit
  uint32_t thread_per_s = 100'000;     // 0: no limit
  uint64_t max_skew_ns = 1'000'000'000;
  uint64_t max_future_ns = 10'000'000'000;
  uint64_t max_duration_ns = 86'400'000'000'000;
};

struct GuardCounts {
  uint64_t process_rate_limited = 0;
  uint64_t thread_rate_limited = 0;
  uint64_t invalid_timestamp = 0;
  uint64_t non_monotonic = 0;
  uint64_t dropped() const { return process_rate_limited + thread_rate_limited + invalid_timestamp + non_monotonic; }
};

class RecordGuard {
 public:
  enum class Verdict { Admit, ProcessRateLimited, ThreadRateLimited, InvalidTimestamp, NonMonotonic };
  using Clock = std::function<uint64_t()>;  // CLOCK_MONOTONIC ns

  explicit RecordGuard(GuardLimits limits = {}, Clock now = {});
  void set_limits(const GuardLimits& limits);

  // start/end: CLOCK_MONOTONIC ns. tid: the thread a record names, 0 for device work.
  // stream: a key for the (device, stream) the record ran on, 0 when it has none.
  Verdict admit(uint64_t start_ns, uint64_t end_ns, uint32_t tid, uint64_t stream);

  const GuardCounts& counts() const { return counts_; }

  static uint64_t stream_key(uint32_t device, uint32_t stream) { return (uint64_t{device} + 1) << 32 | stream; }

 private:
  struct Bucket {
    double tokens = -1;  // < 0: not filled yet (starts full)
    uint64_t refilled_ns = 0;
  };
  bool take(Bucket& b, uint32_t rate, uint64_t now);
  Bucket& thread_bucket(uint32_t tid);
  bool out_of_order(uint64_t stream, uint64_t start_ns);

  GuardLimits limits_;
  Clock now_;
  GuardCounts counts_;
  Bucket process_;
  std::unordered_map<uint32_t, Bucket> threads_;  // at most kMaxThreads, then one shared bucket
  Bucket other_threads_;
  std::unordered_map<uint64_t, uint64_t> latest_start_;  // per stream, at most kMaxStreams
};

}  // namespace gputrace::cupti
