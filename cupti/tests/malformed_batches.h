// Malformed batches the bridge tests send through the real transports, each with the reason
// the daemon must reject it for (or, for the oversize one, the probe's length check).
#pragma once

extern "C" {
#include "bpf/gpu.h"
}

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

namespace gputrace::cupti::testing {

struct MalformedBatch {
  std::string what;
  std::vector<std::byte> bytes;
};

inline std::vector<std::byte> batch_of(const std::vector<std::vector<std::byte>>& records, uint32_t count_delta = 0) {
  gt_gpu_batch h{};
  h.magic = GT_GPU_BATCH_MAGIC;
  h.version = GT_GPU_BATCH_VERSION;
  h.header_size = sizeof(h);
  h.seq = 1000;
  std::vector<std::byte> out(sizeof(h));
  for (const auto& r : records) out.insert(out.end(), r.begin(), r.end());
  h.count = static_cast<uint32_t>(records.size()) + count_delta;
  h.bytes = static_cast<uint32_t>(out.size() - sizeof(h));
  std::memcpy(out.data(), &h, sizeof(h));
  return out;
}

template <class T>
std::vector<std::byte> bytes_of(const T& v, size_t size = sizeof(T)) {
  std::vector<std::byte> out(size);
  std::memcpy(out.data(), &v, std::min(size, sizeof(T)));
  return out;
}

inline std::vector<std::byte> a_memset() {
  gt_gpu_memset_event e{};
  e.hdr.kind = GT_EV_GPU_MEMSET;
  e.hdr.size = sizeof(e);
  e.hdr.ts_ns = 1;
  e.end_ns = 2;
  return bytes_of(e);
}

// Rejected by the daemon's validator, one reason each (kMalformedRejectedByDaemon of them).
inline std::vector<MalformedBatch> malformed_batches() {
  std::vector<MalformedBatch> out;
  auto bad_magic = batch_of({a_memset()});
  bad_magic[0] = std::byte{'X'};
  out.push_back({"bad magic", bad_magic});

  auto long_count = batch_of({a_memset()}, 1);
  out.push_back({"count says 2, one record", long_count});

  auto lying_length = batch_of({a_memset()});
  lying_length[16] = std::byte{200};  // gt_gpu_batch.bytes
  out.push_back({"byte count disagrees", lying_length});

  gt_gpu_name_event n{};
  n.hdr.kind = GT_EV_GPU_NAME;
  n.hdr.size = sizeof(n) + 8;
  n.name_id = 1;
  n.name_len = 7;
  auto unterminated = bytes_of(n, sizeof(n) + 8);
  std::memset(unterminated.data() + sizeof(n), 'A', 8);  // no NUL where name_len says
  out.push_back({"unterminated name", batch_of({unterminated})});

  gt_event_header foreign{};
  foreign.kind = GT_EV_LOSS;  // a valid record, but only the daemon writes these
  foreign.size = 64;
  out.push_back({"non-GPU record", batch_of({bytes_of(foreign, 64)})});

  // Over GT_GPU_BATCH_MAX_BYTES: the BPF probe refuses it before the daemon sees it, the
  // socket listener drops it as oversize.
  std::vector<std::vector<std::byte>> many(GT_GPU_BATCH_MAX_BYTES / sizeof(gt_gpu_memset_event) + 1, a_memset());
  out.push_back({"oversize", batch_of(many)});
  return out;
}
inline constexpr size_t kMalformedRejectedByDaemon = 5;

}  // namespace gputrace::cupti::testing
