// RingConsumer: drains the bulk and critical BPF ring buffers and hands out decoded Records.
//
// BPF submits bulk events without a wakeup, so poll() sleeps at most `timeout` and then
// drains everything; a critical event (exit, fault, unbind) wakes it at once. Records that
// fail to decode are counted, never passed on.
#pragma once

#include "userspace/decode/decoder.h"
#include "userspace/util/result.h"

#include <chrono>
#include <functional>
#include <memory>

struct ring_buffer;

namespace gputrace {

class RingConsumer {
 public:
  using Callback = std::function<void(const Record&)>;
  static Result<std::unique_ptr<RingConsumer>> create(int bulk_fd, int critical_fd, Callback on_record);
  ~RingConsumer();

  // Adds another ring (the GPU probe's), drained after the two shared ones.
  Result<void> add_ring(int fd, const char* what);

  // Waits up to timeout for a critical event, then drains both rings. Returns records seen.
  Result<size_t> poll(std::chrono::milliseconds timeout);
  // Drains what is there without waiting.
  Result<size_t> drain();

  uint64_t decode_errors() const { return decode_errors_; }
  uint64_t records() const { return records_; }

 private:
  RingConsumer() = default;
  static int on_sample(void* ctx, void* data, size_t size);

  ring_buffer* rings_ = nullptr;
  Callback on_record_;
  uint64_t decode_errors_ = 0;
  uint64_t records_ = 0;
};

}  // namespace gputrace
