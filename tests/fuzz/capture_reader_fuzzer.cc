// libFuzzer target: the capture reader and the record decoder must accept or reject any
// bytes without crashing, reading out of bounds, or allocating without bound, and every
// Record they hand out must satisfy the Decoder's promises.
#include "userspace/capture/capture.h"
#include "userspace/decode/decoder.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace {

using gputrace::Record;

// Touches every byte a Record views (ASan checks the view) and traps on a broken promise.
uint64_t check_record(const Record& r) {
  if (r.bytes.size() != r.header.size || r.header.size < gputrace::min_record_size(r.header.kind) ||
      r.header.size % 8 != 0)
    __builtin_trap();
  uint64_t sum = 0;
  for (std::byte b : r.bytes) sum += static_cast<uint8_t>(b);
  return sum + r.ts();
}

void fuzz_decoder(std::span<const std::byte> bytes) {
  uint64_t seen = 0;
  const auto result = gputrace::decode_stream(bytes, [&](const Record& r) {
    check_record(r);
    ++seen;
  });
  if (result.records != seen || result.consumed > bytes.size()) __builtin_trap();
}

void fuzz_capture_reader(std::span<const std::byte> bytes) {
  auto reader = gputrace::CaptureReader::open_bytes(bytes, "fuzz.gtrace");
  if (!reader) {
    if (reader.error().message.empty()) __builtin_trap();
    return;
  }
  uint64_t seen = 0;
  auto summary = (*reader)->for_each([&](const Record& r) {
    check_record(r);
    ++seen;
  });
  if (summary && summary->records != seen) __builtin_trap();
  if (summary && summary->truncated == summary->truncation_note.empty()) __builtin_trap();
  if (!summary && summary.error().message.empty()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  fuzz_decoder(bytes);
  fuzz_capture_reader(bytes);
  return 0;
}
