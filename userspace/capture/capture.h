// Capture files (.gtrace): the decoded-input bytes of a run, for `gputrace report` to replay
// through the same engine as a live run.
//
// Layout (documented in docs/capture-format.md):
//   file header  magic "GTRACE\r\n", format version, header length, then host facts
//                (hostname, kernel release, boot id, clock calibration, gputrace version)
//   chunks       [chunk header: magic, compressed length, raw length, record count, crc32]
//                [zlib-compressed wire records, back to back]
// A chunk is written whole or not at all from the reader's point of view: a truncated file
// stays readable up to its last whole chunk.
#pragma once

#include "userspace/decode/record.h"
#include "userspace/util/result.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace gputrace {

// Facts about the host that recorded a capture; reports print them.
struct CaptureHostInfo {
  std::string hostname;
  std::string kernel_release;
  std::string boot_id;            // /proc/sys/kernel/random/boot_id
  std::string gputrace_version;
  uint64_t start_monotonic_ns = 0;
  uint64_t start_realtime_ns = 0; // wall clock at start_monotonic_ns: timestamps -> dates
};

// Writes records into a new capture file, a compressed chunk at a time.
class CaptureWriter {
 public:
  // Creates path (O_EXCL|O_NOFOLLOW, mode 0600: the daemon runs as root) and writes the file
  // header. Refuses, with a message saying so, a path that exists or is a symbolic link.
  static Result<std::unique_ptr<CaptureWriter>> create(const std::string& path, const CaptureHostInfo& host);
  virtual ~CaptureWriter() = default;

  // Buffers a record; a full chunk (~256 KiB of records) is compressed and written. Refuses a
  // record whose bytes do not decode, so every capture written reads back. After a write
  // error the file is cut back to its last whole chunk and every later call fails.
  virtual Result<void> append(const Record& record) = 0;
  // Writes the buffered records as a chunk (so a crash after it loses nothing before it).
  virtual Result<void> flush() = 0;
  // The durability timer, called by a recorder between reads: writes the buffered records as
  // a chunk once the oldest of them has waited `interval` (so SIGKILL or the OOM killer cost
  // at most that much), and fdatasyncs what was written since the last sync at most once per
  // `interval` (so does power loss, give or take the sync itself). docs/capture-format.md.
  virtual Result<void> flush_if_due(std::chrono::steady_clock::time_point now, std::chrono::nanoseconds interval) = 0;
  // Flushes, syncs and closes; the file is complete. A writer destroyed without close()
  // still writes its buffered records, but cannot report an error doing so.
  virtual Result<void> close() = 0;
  // Records in chunks already written to the file (not those still buffered).
  virtual uint64_t records_written() const = 0;
};

struct CaptureReadSummary {
  uint64_t records = 0;
  uint64_t chunks = 0;
  bool truncated = false;      // the file ended inside a chunk: everything before it was read
  std::string truncation_note; // where and why, for the user
};

// Validates a capture file and replays its records in file order.
class CaptureReader {
 public:
  // Opens and validates the file header. Fails with a clear message for a file that is not
  // a capture, a newer format version, or a header that is cut short.
  static Result<std::unique_ptr<CaptureReader>> open(const std::string& path);
  // The same, for a capture held in memory (tests, the fuzzer); bytes must outlive the reader.
  // name stands for the path in messages.
  static Result<std::unique_ptr<CaptureReader>> open_bytes(std::span<const std::byte> bytes, const std::string& name);
  virtual ~CaptureReader() = default;

  virtual const CaptureHostInfo& host() const = 0;
  virtual uint32_t format_version() const = 0;

  // Calls on_record for every record of every whole chunk, in file order. A corrupt chunk
  // (bad checksum, bad compression, record that fails to decode) is an error naming the
  // chunk and offset; a truncated tail is not an error but is reported in the summary.
  // A Record views the reader's chunk buffer: it is valid only during the call, so copy what
  // you keep. Each call reads the file from its first chunk again.
  virtual Result<CaptureReadSummary> for_each(const std::function<void(const Record&)>& on_record) = 0;
};

}  // namespace gputrace
