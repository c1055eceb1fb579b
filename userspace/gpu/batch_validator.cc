#include "gpu/batch_validator.h"

#include "decode/decoder.h"

#include <cstring>
#include <optional>

namespace gputrace {
namespace {

template <class T>
T load(std::span<const std::byte> bytes) {
  T v;
  std::memcpy(&v, bytes.data(), sizeof(T));
  return v;
}

// Text that reaches terminals and reports: well-formed UTF-8 without control characters, C0
// or C1 (an escape sequence in a kernel name would repaint `gputrace top`; 0x9b is one on
// terminals that read C1 codes).
bool printable(const char* text, size_t len) {
  const auto* b = reinterpret_cast<const unsigned char*>(text);
  for (size_t i = 0; i < len;) {
    const unsigned char c = b[i];
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    // Lead byte: how many continuation bytes follow, and the range the first one must be in
    // (which rules out overlong forms, surrogates and code points past U+10FFFF).
    size_t more = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      more = 1;
      if (c == 0xc2) lo = 0xa0;  // U+0080..U+009F are the C1 controls
    } else if (c >= 0xe0 && c <= 0xef) {
      more = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      more = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (i + more >= len) return false;  // cut short
    if (b[i + 1] < lo || b[i + 1] > hi) return false;
    for (size_t k = 2; k <= more; ++k)
      if (b[i + k] < 0x80 || b[i + k] > 0xbf) return false;
    i += more + 1;
  }
  return true;
}

// A NUL-terminated printable string filling at most a fixed field.
bool field_string_ok(const char* field, size_t size) {
  const void* nul = std::memchr(field, 0, size);
  return nul != nullptr && printable(field, static_cast<size_t>(static_cast<const char*>(nul) - field));
}

bool name_ok(const Record& r) {
  const auto e = r.as<gt_gpu_name_event>();
  if (e.name_len >= GT_GPU_NAME_MAX || e.name_id == 0) return false;
  const size_t expected = (sizeof(gt_gpu_name_event) + e.name_len + 1 + 7) & ~size_t{7};
  if (r.bytes.size() != expected) return false;
  const auto tail = r.tail<gt_gpu_name_event>();
  // Exactly name_len printable bytes, then NUL padding to the end.
  if (!printable(reinterpret_cast<const char*>(tail.data()), e.name_len)) return false;
  for (size_t i = e.name_len; i < tail.size(); ++i)
    if (tail[i] != std::byte{0}) return false;
  return true;
}

bool status_ok(const Record& r) {
  const auto e = r.as<gt_gpu_status_event>();
  return e.state <= GT_GPU_STATE_DETACHED && e.clock_mode <= GT_GPU_CLOCK_RAW && field_string_ok(e.holder, sizeof(e.holder));
}

bool device_ok(const Record& r) {
  const auto e = r.as<gt_gpu_device_event>();
  return e.device_id < kMaxCudaDevices && e.pci_domain <= 0xffff && e.pci_bus <= 0xff && e.pci_device <= 0x1f &&
         field_string_ok(e.name, sizeof(e.name));
}

bool overhead_ok(const Record& r) {
  const auto e = r.as<gt_gpu_overhead_event>();
  return e.end_ns >= e.hdr.ts_ns && e.object_kind <= 5 && (e.object_kind < 3 || e.device_id < kMaxCudaDevices);
}

bool graph_ok(const Record& r) {
  const auto e = r.as<gt_gpu_graph_event>();
  return e.end_ns >= e.hdr.ts_ns && (e.device_id < kMaxCudaDevices || e.device_id == 0xffffffffu) && e.pad == 0;
}

bool memory_ok(const Record& r) {
  const auto e = r.as<gt_gpu_memory_event>();
  return e.op == GT_GPU_MEMORY_ALLOC || e.op == GT_GPU_MEMORY_RELEASE;
}

// The size each fixed-size kind has in batch version GT_GPU_BATCH_VERSION; names vary.
size_t batch_record_size(uint16_t kind) {
  switch (kind) {
    case GT_EV_GPU_KERNEL: return sizeof(gt_gpu_kernel_event);
    case GT_EV_GPU_MEMCPY: return sizeof(gt_gpu_memcpy_event);
    case GT_EV_GPU_MEMSET: return sizeof(gt_gpu_memset_event);
    case GT_EV_GPU_API: return sizeof(gt_gpu_api_event);
    case GT_EV_GPU_MEMORY: return sizeof(gt_gpu_memory_event);
    case GT_EV_GPU_STATUS: return sizeof(gt_gpu_status_event);
    case GT_EV_GPU_DEVICE: return sizeof(gt_gpu_device_event);
    case GT_EV_GPU_LIB_LOSSES: return sizeof(gt_gpu_lib_losses_event);
    case GT_EV_GPU_OVERHEAD: return sizeof(gt_gpu_overhead_event);
    case GT_EV_GPU_GUARDS: return sizeof(gt_gpu_guards_event);
    case GT_EV_GPU_GRAPH: return sizeof(gt_gpu_graph_event);
    default: return 0;
  }
}

// Checks one record's kind-specific content; None when it is fine.
std::optional<BatchReject> check_record(const Record& r) {
  // The decoder lets records grow (newer writers, older readers); a batch's version fixes
  // its layout, so a longer record is junk, not news.
  if (const size_t size = batch_record_size(r.header.kind); size != 0 && r.bytes.size() != size)
    return BatchReject::BadRecord;
  switch (r.header.kind) {
    case GT_EV_GPU_KERNEL:
    case GT_EV_GPU_MEMCPY:
    case GT_EV_GPU_MEMSET:
    case GT_EV_GPU_API:
      return gpu_activity_end(r) >= r.ts() ? std::nullopt : std::optional(BatchReject::BadTimestamps);
    case GT_EV_GPU_MEMORY: return memory_ok(r) ? std::nullopt : std::optional(BatchReject::BadRecord);
    case GT_EV_GPU_NAME: return name_ok(r) ? std::nullopt : std::optional(BatchReject::BadName);
    case GT_EV_GPU_STATUS: return status_ok(r) ? std::nullopt : std::optional(BatchReject::BadStatus);
    case GT_EV_GPU_DEVICE: return device_ok(r) ? std::nullopt : std::optional(BatchReject::BadRecord);
    case GT_EV_GPU_LIB_LOSSES:
      return r.as<gt_gpu_lib_losses_event>().flags & ~uint32_t{GT_GPU_LAYOUT_UNVERIFIED}
                 ? std::optional(BatchReject::BadStatus)
                 : std::nullopt;
    case GT_EV_GPU_OVERHEAD: return overhead_ok(r) ? std::nullopt : std::optional(BatchReject::BadRecord);
    case GT_EV_GPU_GRAPH: return graph_ok(r) ? std::nullopt : std::optional(BatchReject::BadRecord);
    case GT_EV_GPU_GUARDS: return std::nullopt;  // counters: any value is a count
    default: return BatchReject::NotGpuRecord;
  }
}

}  // namespace

uint64_t gpu_activity_end(const Record& r) {
  switch (r.header.kind) {
    case GT_EV_GPU_KERNEL: return r.as<gt_gpu_kernel_event>().end_ns;
    case GT_EV_GPU_MEMCPY: return r.as<gt_gpu_memcpy_event>().end_ns;
    case GT_EV_GPU_MEMSET: return r.as<gt_gpu_memset_event>().end_ns;
    case GT_EV_GPU_API: return r.as<gt_gpu_api_event>().end_ns;
    case GT_EV_GPU_OVERHEAD: return r.as<gt_gpu_overhead_event>().end_ns;
    case GT_EV_GPU_GRAPH: return r.as<gt_gpu_graph_event>().end_ns;
    default: return r.ts();
  }
}

const char* describe(BatchReject r) {
  switch (r) {
    case BatchReject::TooShort: return "GPU batch shorter than its header";
    case BatchReject::TooLong: return "GPU batch longer than the largest batch allowed";
    case BatchReject::BadMagic: return "GPU batch with a wrong magic number";
    case BatchReject::BadVersion: return "GPU batch of an unknown version";
    case BatchReject::LengthMismatch: return "GPU batch whose byte count disagrees with its header";
    case BatchReject::CountMismatch: return "GPU batch whose record count disagrees with its header";
    case BatchReject::BadRecord: return "GPU batch with a malformed record";
    case BatchReject::NotGpuRecord: return "GPU batch carrying a non-GPU record kind";
    case BatchReject::BadName: return "GPU batch with a malformed kernel name";
    case BatchReject::BadStatus: return "GPU batch with a malformed status record";
    case BatchReject::BadTimestamps: return "GPU batch with activity ending before it starts";
    case BatchReject::RateLimited: return "GPU batch over the sending process's rate limit";
    case BatchReject::NotABatch: return "ring record is not a GPU batch";
  }
  return "?";
}

const char* stat_name(BatchReject r) {
  switch (r) {
    case BatchReject::TooShort: return "gpu_batch_too_short";
    case BatchReject::TooLong: return "gpu_batch_too_long";
    case BatchReject::BadMagic: return "gpu_batch_bad_magic";
    case BatchReject::BadVersion: return "gpu_batch_bad_version";
    case BatchReject::LengthMismatch: return "gpu_batch_length_mismatch";
    case BatchReject::CountMismatch: return "gpu_batch_count_mismatch";
    case BatchReject::BadRecord: return "gpu_batch_bad_record";
    case BatchReject::NotGpuRecord: return "gpu_batch_not_gpu_record";
    case BatchReject::BadName: return "gpu_batch_bad_name";
    case BatchReject::BadStatus: return "gpu_batch_bad_status";
    case BatchReject::BadTimestamps: return "gpu_batch_bad_timestamps";
    case BatchReject::RateLimited: return "gpu_batch_rate_limited";
    case BatchReject::NotABatch: return "gpu_batch_not_a_batch";
  }
  return "?";
}

BatchResult validate_batch(std::span<const std::byte> batch, uint32_t trusted_pid) {
  if (batch.size() < sizeof(gt_gpu_batch)) return tl::unexpected(BatchReject::TooShort);
  if (batch.size() > GT_GPU_BATCH_MAX_BYTES) return tl::unexpected(BatchReject::TooLong);
  const auto h = load<gt_gpu_batch>(batch);
  if (h.magic != GT_GPU_BATCH_MAGIC) return tl::unexpected(BatchReject::BadMagic);
  if (h.version != GT_GPU_BATCH_VERSION || h.header_size != sizeof(gt_gpu_batch))
    return tl::unexpected(BatchReject::BadVersion);
  if (h.bytes != batch.size() - sizeof(gt_gpu_batch)) return tl::unexpected(BatchReject::LengthMismatch);
  if (h.count == 0 || h.count > h.bytes / sizeof(gt_event_header)) return tl::unexpected(BatchReject::CountMismatch);

  GpuBatch out;
  out.pid = trusted_pid;
  out.seq = h.seq;
  out.count = h.count;
  out.records.assign(batch.begin() + sizeof(gt_gpu_batch), batch.end());
  std::optional<BatchReject> bad;
  const StreamDecodeResult decoded = decode_stream(out.records, [&](const Record& r) {
    if (!bad) bad = check_record(r);
  });
  if (decoded.error != DecodeError::None) return tl::unexpected(BatchReject::BadRecord);
  if (bad) return tl::unexpected(*bad);
  if (decoded.records != h.count) return tl::unexpected(BatchReject::CountMismatch);
  // Every record now known whole: stamp the pid the kernel vouches for.
  for (size_t at = 0; at < out.records.size();) {
    gt_event_header hdr;
    std::memcpy(&hdr, out.records.data() + at, sizeof(hdr));
    hdr.pid = trusted_pid;
    std::memcpy(out.records.data() + at, &hdr, sizeof(hdr));
    at += hdr.size;
  }
  return out;
}

BatchResult validate_batch_record(const Record& ring_record) {
  if (ring_record.header.kind != GT_EV_GPU_BATCH) return tl::unexpected(BatchReject::NotABatch);
  return validate_batch(ring_record.bytes.subspan(sizeof(gt_event_header)), ring_record.header.pid);
}

}  // namespace gputrace
