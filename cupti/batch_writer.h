// BatchWriter: packs wire records back to back behind a struct gt_gpu_batch and hands each
// batch to the transport when the next record would not fit, or on flush().
//
// Not thread-safe: ActivityProcessor serialises access. A batch the transport refuses counts
// its records as dropped and calls on_refused at once, before the next record is written, so
// the owner can have names and device records sent again in the very next batch; its sequence
// number is used up anyway, so the daemon sees the gap.
#pragma once

#include "cupti/transport.h"

extern "C" {
#include "bpf/gpu.h"
}

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace gputrace::cupti {

class BatchWriter {
 public:
  BatchWriter(Transport& transport, uint32_t pid, std::function<void()> on_refused = {});

  // Largest record a batch can carry.
  static constexpr size_t kMaxRecordBytes = GT_GPU_BATCH_MAX_BYTES - sizeof(gt_gpu_batch);

  // Appends one record (size a multiple of 8, header size field already set). False if the
  // record can never fit in a batch.
  bool append(const void* record, size_t size);
  // Flushes now unless `bytes` more still fit: records that must travel together (a name and
  // the kernel that uses it) then land in one batch, lost or delivered together.
  void make_room(size_t bytes);
  // Hands the current batch over. False when the transport refused it.
  bool flush();

  uint64_t batches_sent() const { return batches_sent_; }
  uint64_t records_dropped() const { return records_dropped_; }

 private:
  Transport& transport_;
  uint32_t pid_;
  std::function<void()> on_refused_;
  uint64_t seq_ = 0;
  size_t used_ = sizeof(gt_gpu_batch);
  uint32_t count_ = 0;
  uint64_t batches_sent_ = 0;
  uint64_t records_dropped_ = 0;
  alignas(8) std::array<std::byte, GT_GPU_BATCH_MAX_BYTES> buffer_{};
};

}  // namespace gputrace::cupti
