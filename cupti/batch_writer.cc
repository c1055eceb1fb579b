#include "cupti/batch_writer.h"

#include <cstring>

namespace gputrace::cupti {

BatchWriter::BatchWriter(Transport& transport, uint32_t pid, std::function<void()> on_refused)
    : transport_(transport), pid_(pid), on_refused_(std::move(on_refused)) {}

bool BatchWriter::append(const void* record, size_t size) {
  if (size % 8 != 0 || size > kMaxRecordBytes) return false;
  make_room(size);
  std::memcpy(buffer_.data() + used_, record, size);
  used_ += size;
  ++count_;
  return true;
}

void BatchWriter::make_room(size_t bytes) {
  if (used_ + bytes > buffer_.size()) flush();
}

bool BatchWriter::flush() {
  if (count_ == 0) return true;
  gt_gpu_batch header{};
  header.magic = GT_GPU_BATCH_MAGIC;
  header.version = GT_GPU_BATCH_VERSION;
  header.header_size = sizeof(gt_gpu_batch);
  header.pid = pid_;
  header.count = count_;
  header.bytes = static_cast<uint32_t>(used_ - sizeof(gt_gpu_batch));
  header.seq = seq_++;
  std::memcpy(buffer_.data(), &header, sizeof(header));
  const bool sent = transport_.send(std::span(buffer_).first(used_));
  if (sent)
    ++batches_sent_;
  else
    records_dropped_ += count_;
  used_ = sizeof(gt_gpu_batch);
  count_ = 0;
  if (!sent && on_refused_) on_refused_();
  return sent;
}

}  // namespace gputrace::cupti
