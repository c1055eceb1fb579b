// Records the daemon writes itself (host facts, stacks, process snapshot, kernel-log
// faults), built in the wire format so they travel the same path as BPF's.
#pragma once

#include "userspace/decode/record.h"
#include "userspace/util/clock.h"

#include <cstring>
#include <string_view>
#include <vector>

namespace gputrace {

// Owns the bytes of one record; view() is valid while it lives.
class OwnedRecord {
 public:
  OwnedRecord() = default;
  explicit OwnedRecord(std::vector<std::byte> bytes) : bytes_(std::move(bytes)) {
    std::memcpy(&header_, bytes_.data(), sizeof(header_));
  }
  template <class T>
  static OwnedRecord of(const T& event, std::span<const std::byte> tail = {}) {
    std::vector<std::byte> b(sizeof(T) + tail.size());
    std::memcpy(b.data(), &event, sizeof(T));
    if (!tail.empty()) std::memcpy(b.data() + sizeof(T), tail.data(), tail.size());
    b.resize((b.size() + 7) / 8 * 8);  // records are 8-byte multiples
    auto* h = reinterpret_cast<gt_event_header*>(b.data());
    h->size = static_cast<uint32_t>(b.size());
    return OwnedRecord(std::move(b));
  }
  Record view() const { return Record{header_, bytes_}; }

 private:
  gt_event_header header_{};
  std::vector<std::byte> bytes_;
};

inline void fill_user_header(gt_event_header& h, uint16_t kind, uint64_t ts, uint32_t pid = 0) {
  h.kind = kind;
  h.cpu = 0;
  h.ts_ns = ts;
  h.pid = pid;
  h.tid = pid;
}

template <size_t N>
void copy_cstr(char (&dst)[N], std::string_view src) {
  size_t n = src.size() < N - 1 ? src.size() : N - 1;
  std::memcpy(dst, src.data(), n);
  std::memset(dst + n, 0, N - n);
}

}  // namespace gputrace
