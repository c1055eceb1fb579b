// RecordConverter: turns one CUPTI activity record into gputrace wire records (bpf/gpu.h),
// reading fields by the offsets of activity_layout.h and putting timestamps on
// CLOCK_MONOTONIC with the offset the caller read once for the whole buffer. A kernel's name goes out as a GT_EV_GPU_NAME record ahead of the first
// kernel that uses it, and a device's PCI address as a GT_EV_GPU_DEVICE record ahead of the
// first activity on it, in the same batch.
#pragma once

#include "cupti/batch_writer.h"
#include "cupti/clock_alignment.h"
#include "cupti/device_records.h"
#include "cupti/name_table.h"
#include "cupti/record_guard.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace gputrace::cupti {

class RecordConverter {
 public:
  enum class Outcome {
    Converted,
    Skipped,    // a kind (or memory operation) gputrace does not ship
    Truncated,  // fewer bytes left in the buffer than the record's fields need
    Incomplete, // CUPTI could not time it (a timestamp of 0, "no timing could be collected", or
                // end before start): shipped, it would sit at boot time or be rejected
    Guarded,    // dropped by the guard (rate limit, impossible timestamp): counted there
  };

  // guard: consulted for every timed record before it is written; none: every record passes.
  RecordConverter(NameTable& names, DeviceAnnouncer& devices, uint32_t pid, RecordGuard* guard = nullptr);

  // Whether OVERHEAD records are CUpti_ActivityOverhead3 (CUDA 13's libcupti): then they carry
  // a correlation id and an overheadData pointer the client must free.
  void set_overhead_v3(bool v3) { overhead_v3_ = v3; }

  // record: from the record's first byte to the end of the valid part of its buffer.
  // clock_offset_ns: ClockAlignment::offset_ns(), read once by the caller.
  Outcome convert(std::span<const std::byte> record, uint64_t epoch, int64_t clock_offset_ns, BatchWriter& out);

 private:
  Outcome kernel(std::span<const std::byte> r, uint64_t epoch, BatchWriter& out);
  Outcome memcpy(std::span<const std::byte> r, uint64_t epoch, BatchWriter& out);
  Outcome memset(std::span<const std::byte> r, uint64_t epoch, BatchWriter& out);
  Outcome api(std::span<const std::byte> r, uint8_t domain, BatchWriter& out);
  Outcome memory(std::span<const std::byte> r, uint64_t epoch, BatchWriter& out);
  Outcome overhead(std::span<const std::byte> r, BatchWriter& out);
  Outcome graph(std::span<const std::byte> r, uint64_t epoch, BatchWriter& out);
  bool admitted(uint64_t cupti_start, uint64_t cupti_end, uint32_t tid, uint64_t stream);
  uint64_t send_name(const char* name, uint64_t epoch, BatchWriter& out);
  void send_device(uint32_t device_id, uint64_t epoch, BatchWriter& out);
  void fill_header(gt_event_header& h, uint16_t kind, uint32_t size, uint64_t cupti_ts) const;
  uint64_t monotonic(uint64_t cupti_ts) const { return ClockAlignment::to_monotonic(cupti_ts, offset_ns_); }

  int64_t offset_ns_ = 0;  // of the record being converted
  NameTable& names_;
  DeviceAnnouncer& devices_;
  uint32_t pid_;
  RecordGuard* guard_;
  bool overhead_v3_ = false;
};

}  // namespace gputrace::cupti
