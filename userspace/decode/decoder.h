// Decoder: validates raw wire bytes into Records. One decoder for every source: the BPF
// ring buffers, capture file chunks and CUPTI batches all carry the same bytes.
#pragma once

#include "userspace/decode/record.h"
#include "userspace/util/result.h"

#include <cstdint>
#include <functional>
#include <span>

namespace gputrace {

enum class DecodeError : uint8_t {
  None,
  Truncated,    // fewer bytes than a header, or than the header's size says
  BadSize,      // size smaller than the kind's struct, or not a multiple of 8
  UnknownKind,  // a kind this build does not know
  BadTimestamp, // ts_ns past kMaxTimestampNs: no clock of a running host gets there
};

const char* describe(DecodeError e);

// 2^62 ns: 146 years of uptime. Records stamped later come from a damaged or crafted
// source; refusing them here keeps every analyzer's `ts + period` from wrapping around.
inline constexpr uint64_t kMaxTimestampNs = uint64_t{1} << 62;

// Minimum record size for a kind, 0 if the kind is unknown.
uint32_t min_record_size(uint16_t kind);

// Validates one record at the start of bytes (which may hold more after it).
DecodeError decode_one(std::span<const std::byte> bytes, Record& out);

// Walks back-to-back records (a capture chunk, a CUPTI batch). Stops at the first bad record:
// everything after it is unaligned garbage. Returns the number of bytes consumed.
struct StreamDecodeResult {
  size_t consumed = 0;
  size_t records = 0;
  DecodeError error = DecodeError::None;
};
StreamDecodeResult decode_stream(std::span<const std::byte> bytes, const std::function<void(const Record&)>& on_record);

}  // namespace gputrace
