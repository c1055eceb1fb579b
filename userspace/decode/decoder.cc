#include "userspace/decode/decoder.h"

extern "C" {
#include "bpf/dma.h"
#include "bpf/host.h"
#include "bpf/iommu.h"
#include "bpf/pcie.h"
#include "bpf/proc.h"
}

#include "userspace/decode/kinds.h"

namespace gputrace {

const char* describe(DecodeError e) {
  switch (e) {
    case DecodeError::None: return "ok";
    case DecodeError::Truncated: return "record truncated";
    case DecodeError::BadSize: return "record size does not match its kind";
    case DecodeError::UnknownKind: return "unknown record kind";
    case DecodeError::BadTimestamp: return "record timestamp past 2^62 ns (146 years of uptime)";
  }
  return "?";
}

uint32_t min_record_size(uint16_t kind) { return kind_info(kind).min_size; }

DecodeError decode_one(std::span<const std::byte> bytes, Record& out) {
  if (bytes.size() < sizeof(gt_event_header)) return DecodeError::Truncated;
  std::memcpy(&out.header, bytes.data(), sizeof(gt_event_header));
  const uint32_t min = min_record_size(out.header.kind);
  if (min == 0) return DecodeError::UnknownKind;
  if (out.header.size < min || out.header.size % 8 != 0) return DecodeError::BadSize;
  if (out.header.size > bytes.size()) return DecodeError::Truncated;
  if (out.header.ts_ns > kMaxTimestampNs) return DecodeError::BadTimestamp;
  out.bytes = bytes.first(out.header.size);
  return DecodeError::None;
}

StreamDecodeResult decode_stream(std::span<const std::byte> bytes, const std::function<void(const Record&)>& on_record) {
  StreamDecodeResult r;
  while (r.consumed < bytes.size()) {
    Record rec;
    r.error = decode_one(bytes.subspan(r.consumed), rec);
    if (r.error != DecodeError::None) break;
    on_record(rec);
    r.consumed += rec.header.size;
    ++r.records;
  }
  return r;
}

}  // namespace gputrace
