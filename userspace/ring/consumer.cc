#include "userspace/ring/consumer.h"

#include <bpf/libbpf.h>

#include <cerrno>

namespace gputrace {

Result<std::unique_ptr<RingConsumer>> RingConsumer::create(int bulk_fd, int critical_fd, Callback on_record) {
  std::unique_ptr<RingConsumer> c(new RingConsumer());
  c->on_record_ = std::move(on_record);
  // Consumed in this order: bulk, then critical. A critical record (a device's description)
  // is submitted before the bulk record that needed it, so draining bulk first finds it in
  // the same pass instead of one poll later, when the engine may count it late.
  c->rings_ = ring_buffer__new(bulk_fd, &RingConsumer::on_sample, c.get(), nullptr);
  if (!c->rings_) return fail_errno(errno, "cannot open the bulk ring buffer");
  if (int err = ring_buffer__add(c->rings_, critical_fd, &RingConsumer::on_sample, c.get()))
    return fail_errno(err, "cannot open the critical ring buffer");
  return c;
}

Result<void> RingConsumer::add_ring(int fd, const char* what) {
  if (int err = ring_buffer__add(rings_, fd, &RingConsumer::on_sample, this))
    return fail_errno(err, "cannot open the {} ring buffer", what);
  return {};
}

RingConsumer::~RingConsumer() {
  if (rings_) ring_buffer__free(rings_);
}

int RingConsumer::on_sample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<RingConsumer*>(ctx);
  Record rec;
  auto bytes = std::span(static_cast<const std::byte*>(data), size);
  // A ring sample is exactly one record (BPF reserves whole records).
  if (decode_one(bytes, rec) != DecodeError::None || rec.header.size != size) {
    ++self->decode_errors_;
    return 0;
  }
  ++self->records_;
  self->on_record_(rec);
  return 0;
}

Result<size_t> RingConsumer::poll(std::chrono::milliseconds timeout) {
  uint64_t before = records_;
  int n = ring_buffer__poll(rings_, static_cast<int>(timeout.count()));
  if (n < 0 && n != -EINTR) return fail_errno(n, "reading the BPF ring buffers");
  // poll() only consumed the ring that woke it; bulk events never wake it
  if (auto r = drain(); !r) return r;
  return records_ - before;
}

Result<size_t> RingConsumer::drain() {
  uint64_t before = records_;
  int n = ring_buffer__consume(rings_);
  if (n < 0 && n != -EINTR) return fail_errno(n, "reading the BPF ring buffers");
  return records_ - before;
}

}  // namespace gputrace
