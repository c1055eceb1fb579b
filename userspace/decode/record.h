// Record: one wire record (bpf/common.h header + payload), viewed in place.
//
// Every source (ring buffer, capture file, CUPTI channel) hands the rest of the daemon
// Records that the Decoder has validated: the header's size fits the bytes and is at least
// the size of the kind's payload struct. as<T>() copies out a struct (zero-filling what a
// shorter record lacks), so a reader never runs past the record; visit_record
// (userspace/decode/kinds.h) hands each kind its own struct.
#pragma once

extern "C" {
#include "bpf/common.h"
}

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

namespace gputrace {

struct Record {
  gt_event_header header{};
  std::span<const std::byte> bytes;  // the whole record, header included

  gt_event_kind kind() const { return static_cast<gt_event_kind>(header.kind); }
  uint64_t ts() const { return header.ts_ns; }

  // Copies the record into T (which starts with gt_event_header). The Decoder guarantees
  // bytes.size() >= the kind's minimum size; T larger than the record is a programming error
  // and yields a zero-filled tail rather than a read past the buffer.
  template <class T>
  T as() const {
    static_assert(std::is_trivially_copyable_v<T>);
    T out{};
    std::memcpy(&out, bytes.data(), bytes.size() < sizeof(T) ? bytes.size() : sizeof(T));
    return out;
  }

  // Bytes after the fixed struct T (variable-length tails: stack frames, names).
  template <class T>
  std::span<const std::byte> tail() const {
    return bytes.size() > sizeof(T) ? bytes.subspan(sizeof(T)) : std::span<const std::byte>{};
  }
};

}  // namespace gputrace
