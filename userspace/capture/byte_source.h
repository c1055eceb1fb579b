// ByteSource: positioned reads from a capture, whether it lies in a file or in memory (tests,
// the fuzzer). The reader never maps the file: a file truncated under a mapping raises
// SIGBUS, and the reader must not crash on any file.
#pragma once

#include "userspace/util/fd.h"
#include "userspace/util/result.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace gputrace::capture {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Current length in bytes (a capture still being recorded grows between calls).
  virtual Result<uint64_t> size() = 0;
  // Fills as much of out as the source holds from offset on; returns the bytes read (fewer
  // only at the end).
  virtual Result<size_t> read_at(uint64_t offset, std::span<std::byte> out) = 0;
};

// Opens a regular file for reading; refuses FIFOs, devices and directories.
Result<std::unique_ptr<ByteSource>> open_file_source(const std::string& path);

// Reads from bytes, which must outlive the source.
std::unique_ptr<ByteSource> memory_source(std::span<const std::byte> bytes);

}  // namespace gputrace::capture
