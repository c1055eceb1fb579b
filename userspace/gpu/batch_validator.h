// validate_batch: checks one batch of GPU records from a served process, which is untrusted,
// and returns an owned copy the rest of the daemon can rely on.
//
// Accepted means: the header's magic, version and lengths agree with the bytes; every record
// decodes (userspace/decode), is a GPU record kind and has its kind's exact size; names and
// strings are bounded, NUL-terminated and free of control characters; device ids are below
// kMaxCudaDevices; activity ends no earlier than it starts. Every record's pid
// is replaced by trusted_pid, the pid the kernel vouches for (the BPF record header or the
// credentials the kernel attached to the socket datagram), so a process can only ever speak
// for itself.
//
// Rejections are an enum rather than util/result.h's Error: callers count them by reason,
// and the message for each reason is fixed (describe()).
#pragma once

#include "userspace/decode/record.h"
#include "userspace/model/loss_counters.h"

extern "C" {
#include "bpf/gpu.h"
}

#include <tl/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace gputrace {

// CUDA device ordinals a process may name: far above any host's GPU count, and it bounds
// what the daemon keeps per process.
inline constexpr uint32_t kMaxCudaDevices = 64;

// Reasons to refuse a batch, each with its loss counter (model/loss_counters.h).
enum class BatchReject : uint8_t {
#define GT_BATCH_REJECT_ENUMERATOR(REASON, ID, HELP) REASON,
  GT_GPU_BATCH_REJECTS(GT_BATCH_REJECT_ENUMERATOR)
#undef GT_BATCH_REJECT_ENUMERATOR
};
inline constexpr size_t kBatchRejectCount = static_cast<size_t>(BatchReject::NotABatch) + 1;

const char* describe(BatchReject r);
Loss loss_of(BatchReject r);  // its counter: gpu_batch_<reason>

struct GpuBatch {
  uint32_t pid = 0;   // trusted
  uint64_t seq = 0;   // the sender's batch sequence number
  uint32_t count = 0;
  std::vector<std::byte> records;  // back-to-back wire records, pids rewritten
};

using BatchResult = tl::expected<GpuBatch, BatchReject>;

BatchResult validate_batch(std::span<const std::byte> batch, uint32_t trusted_pid);

// When a GPU record's work ended: end_ns of kernels, copies, memsets and API calls, the
// record's own time for the other kinds.
uint64_t gpu_activity_end(const Record& r);

// A GT_EV_GPU_BATCH record from the bulk ring: the header's pid is the kernel's.
BatchResult validate_batch_record(const Record& ring_record);

}  // namespace gputrace
