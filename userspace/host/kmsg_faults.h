// Reads Intel VT-d (DMAR) fault reports from the kernel log. VT-d never calls
// report_iommu_fault(), so iommu:io_page_fault stays silent there; the kernel's own
// "DMAR: [DMA Read ...] Request device [..] fault addr .." line is the account of record.
#pragma once

#include "userspace/host/synthesized.h"
#include "userspace/util/fd.h"
#include "userspace/util/result.h"

#include <optional>
#include <string_view>
#include <vector>

namespace gputrace {

// Parses one /dev/kmsg record ("pri,seq,usec,flags;message"); nullopt if not a DMAR fault.
std::optional<OwnedRecord> parse_dmar_fault(std::string_view kmsg_record);

class KmsgFaultReader {
 public:
  // Opens /dev/kmsg positioned after the messages already logged.
  static Result<KmsgFaultReader> open(const char* path = "/dev/kmsg");
  // Every DMAR fault logged since the last call.
  std::vector<OwnedRecord> read_new();

 private:
  explicit KmsgFaultReader(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

}  // namespace gputrace
