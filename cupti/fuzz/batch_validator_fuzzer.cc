// libFuzzer target for validate_batch: the daemon's first look at bytes an unprivileged
// process controls. Anything it accepts must be walkable record by record within bounds,
// carry the trusted pid, and hold exactly the count it claims.
#include "gpu/batch_validator.h"

#include "decode/decoder.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span bytes(reinterpret_cast<const std::byte*>(data), size);
  auto batch = gputrace::validate_batch(bytes, 4242);
  if (!batch) return 0;
  size_t records = 0;
  const auto walked = gputrace::decode_stream(batch->records, [&](const gputrace::Record& r) {
    if (r.header.pid != 4242 || r.header.kind < GT_EV_GPU_KERNEL || r.header.kind > GT_EV_GPU_GRAPH) std::abort();
    ++records;
  });
  if (walked.error != gputrace::DecodeError::None || records != batch->count ||
      walked.consumed != batch->records.size())
    std::abort();
  return 0;
}
