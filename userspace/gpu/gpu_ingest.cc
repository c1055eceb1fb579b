#include "userspace/gpu/gpu_ingest.h"

#include "userspace/decode/decoder.h"

#include <numeric>

namespace gputrace {
namespace {
constexpr size_t kMaxSequenceEntries = 4096;
constexpr uint64_t kMaxCreditedGap = 1 << 20;

}  // namespace

uint64_t GpuIngestStats::rejected_total() const { return std::accumulate(rejected.begin(), rejected.end(), uint64_t{0}); }

bool GpuIngest::ingest_ring_record(const Record& ring_record, uint64_t now_ns, const RecordSink& sink) {
  return accept(validate_batch_record(ring_record), now_ns, sink);
}

bool GpuIngest::ingest_datagram(std::span<const std::byte> datagram, uint32_t peer_pid, uint64_t now_ns,
                                const RecordSink& sink) {
  return accept(validate_batch(datagram, peer_pid), now_ns, sink);
}

bool GpuIngest::accept(BatchResult batch, uint64_t now_ns, const RecordSink& sink) {
  if (!batch) {
    ++stats_.rejected[static_cast<size_t>(batch.error())];
    return false;
  }
  if (!limiter_.admit(batch->pid, batch->count, batch->records.size(), now_ns)) {
    ++stats_.rejected[static_cast<size_t>(BatchReject::RateLimited)];
    return false;
  }
  note_sequence(batch->pid, batch->seq);
  ++stats_.batches;
  stats_.records += batch->count;
  // Validated already: this walk cannot fail.
  decode_stream(batch->records, [&](const Record& r) {
    // The end too: one activity "ending" in a century would hold every judgement back.
    if (r.ts() > now_ns + kMaxAheadNs || gpu_activity_end(r) > now_ns + kMaxAheadNs) {
      ++stats_.records_misdated;
      return;
    }
    sink(r);
  });
  return true;
}

void GpuIngest::note_sequence(uint32_t pid, uint64_t seq) {
  auto it = next_seq_.find(pid);
  if (it == next_seq_.end()) {
    if (next_seq_.size() >= kMaxSequenceEntries) next_seq_.clear();  // forgets gaps, never grows
    next_seq_.emplace(pid, seq + 1);
    return;
  }
  // Backwards: a new process reusing the pid. A huge jump is a sender's lie, not a loss to report.
  if (seq > it->second && seq - it->second <= kMaxCreditedGap) stats_.batches_lost += seq - it->second;
  it->second = seq + 1;
}

}  // namespace gputrace
