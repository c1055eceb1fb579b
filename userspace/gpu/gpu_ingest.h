// GpuIngest: the daemon's door for GPU activity. Takes batches from served processes (bulk
// ring records from the USDT probe, or socket datagrams), validates them, applies each
// process's rate limit, notices lost batches from sequence gaps, and hands the records of
// accepted batches on in order. Every rejection is counted by reason.
#pragma once

#include "userspace/decode/record.h"
#include "userspace/gpu/batch_validator.h"
#include "userspace/gpu/rate_limiter.h"

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <unordered_map>

namespace gputrace {

struct GpuIngestStats {
  uint64_t batches = 0;       // accepted
  uint64_t records = 0;       // in accepted batches
  uint64_t batches_lost = 0;  // sequence numbers skipped by a sender (its batches never arrived)
  uint64_t records_misdated = 0;  // starting or ending further in the future than kMaxAheadNs: dropped
  std::array<uint64_t, kBatchRejectCount> rejected{};

  uint64_t rejected_total() const;
};

class GpuIngest {
 public:
  // A record from a served process stamped this far past the daemon's clock is not on
  // CLOCK_MONOTONIC (CUPTI's own clock, when the library could neither register its
  // timestamp callback nor calibrate) or is a lie; either way it cannot be placed in time.
  static constexpr uint64_t kMaxAheadNs = 10'000'000'000;

  using RecordSink = std::function<void(const Record&)>;

  explicit GpuIngest(RateLimit limit = {}) : limiter_(limit) {}

  // A record read from the GPU probe's ring (must be GT_EV_GPU_BATCH).
  bool ingest_ring_record(const Record& ring_record, uint64_t now_ns, const RecordSink& sink);
  // One datagram from the socket; peer_pid is its sender as the kernel named it (SCM_CREDENTIALS).
  bool ingest_datagram(std::span<const std::byte> datagram, uint32_t peer_pid, uint64_t now_ns,
                       const RecordSink& sink);

  const GpuIngestStats& stats() const { return stats_; }

 private:
  bool accept(BatchResult batch, uint64_t now_ns, const RecordSink& sink);
  void note_sequence(uint32_t pid, uint64_t seq);

  PidRateLimiter limiter_;
  GpuIngestStats stats_;
  std::unordered_map<uint32_t, uint64_t> next_seq_;  // bounded like the limiter's table
};

}  // namespace gputrace
