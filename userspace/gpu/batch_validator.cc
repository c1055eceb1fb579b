#include "userspace/gpu/batch_validator.h"

#include "userspace/decode/decoder.h"
#include "userspace/decode/kinds.h"

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

// A batch's version fixes its layout: every record but a name (variable) has exactly its
// kind's size. The decoder lets records grow (newer writers, older readers); here a longer
// record is junk, not news.
template <gt_event_kind K>
bool exact_size(const Typed<K>& r) {
  return r.record.bytes.size() == sizeof(r.event);
}

template <gt_event_kind K>
std::optional<BatchReject> timed_activity_ok(const Typed<K>& r) {
  if (!exact_size(r)) return BatchReject::BadRecord;
  return r.event.end_ns >= r.event.hdr.ts_ns ? std::nullopt : std::optional(BatchReject::BadTimestamps);
}

// Kernels, copies and memsets run on a device: its id is bounded like the device records'
// (the timeline keys tracks by it; docs/cupti.md says ids past kMaxCudaDevices are refused).
template <gt_event_kind K>
std::optional<BatchReject> device_activity_ok(const Typed<K>& r) {
  if (auto bad = timed_activity_ok(r)) return bad;
  return r.event.device_id < kMaxCudaDevices ? std::nullopt : std::optional(BatchReject::BadRecord);
}

// Checks one record's kind-specific content.
struct RecordCheck {
  std::optional<BatchReject> reject;

  void operator()(const Typed<GT_EV_GPU_KERNEL>& r) { reject = device_activity_ok(r); }
  void operator()(const Typed<GT_EV_GPU_MEMCPY>& r) { reject = device_activity_ok(r); }
  void operator()(const Typed<GT_EV_GPU_MEMSET>& r) { reject = device_activity_ok(r); }
  void operator()(const Typed<GT_EV_GPU_API>& r) { reject = timed_activity_ok(r); }
  void operator()(const Typed<GT_EV_GPU_MEMORY>& r) { check(r, memory_ok(r.record), BatchReject::BadRecord); }
  void operator()(const Typed<GT_EV_GPU_NAME>& r) {
    if (!name_ok(r.record)) reject = BatchReject::BadName;
  }
  void operator()(const Typed<GT_EV_GPU_STATUS>& r) { check(r, status_ok(r.record), BatchReject::BadStatus); }
  void operator()(const Typed<GT_EV_GPU_DEVICE>& r) { check(r, device_ok(r.record), BatchReject::BadRecord); }
  void operator()(const Typed<GT_EV_GPU_LIB_LOSSES>& r) {
    check(r, !(r.event.flags & ~uint32_t{GT_GPU_LAYOUT_UNVERIFIED}), BatchReject::BadStatus);
  }
  void operator()(const Typed<GT_EV_GPU_OVERHEAD>& r) { check(r, overhead_ok(r.record), BatchReject::BadRecord); }
  void operator()(const Typed<GT_EV_GPU_GRAPH>& r) { check(r, graph_ok(r.record), BatchReject::BadRecord); }
  // Counters: any value is a count.
  void operator()(const Typed<GT_EV_GPU_GUARDS>& r) { check(r, true, BatchReject::BadRecord); }
  // The library sends only GPU-stream kinds.
  template <gt_event_kind K>
    requires(!KindOfStream<K, RecordStream::Gpu>)
  void operator()(const Typed<K>&) {
    reject = BatchReject::NotGpuRecord;
  }

  template <gt_event_kind K>
  void check(const Typed<K>& r, bool content_ok, BatchReject otherwise) {
    if (!exact_size(r))
      reject = BatchReject::BadRecord;
    else if (!content_ok)
      reject = otherwise;
  }
};

std::optional<BatchReject> check_record(const Record& r) {
  RecordCheck check;
  visit_record(r, check);
  return check.reject;
}

}  // namespace

uint64_t gpu_activity_end(const Record& r) {
  uint64_t end = r.ts();
  visit_record(r, [&](const auto& typed) {
    if constexpr (requires { typed.event.end_ns; }) end = typed.event.end_ns;
  });
  return end;
}

const char* describe(BatchReject r) {
  switch (r) {
#define GT_BATCH_REJECT_DESCRIBE(REASON, ID, HELP) \
  case BatchReject::REASON: return HELP;
    GT_GPU_BATCH_REJECTS(GT_BATCH_REJECT_DESCRIBE)
#undef GT_BATCH_REJECT_DESCRIBE
  }
  return "?";
}

Loss loss_of(BatchReject r) {
  switch (r) {
#define GT_BATCH_REJECT_LOSS(REASON, ID, HELP) \
  case BatchReject::REASON: return Loss::ID;
    GT_GPU_BATCH_REJECTS(GT_BATCH_REJECT_LOSS)
#undef GT_BATCH_REJECT_LOSS
  }
  return Loss::gpu_batch_bad_record;
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
