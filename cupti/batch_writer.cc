#include "batch_writer.h"

#include <cstring>

namespace gputrace::cupti {

BatchWriter::BatchWriter(Transport& transport, uint32_t pid) : transport_(transport), pid_(pid) {}

bool BatchWriter::append(const void* record, size_t size) {
  if (size % 8 != 0 || size > buffer_.size() - sizeof(gt_gpu_batch)) return false;
  if (used_ + size > buffer_.size()) flush();
  std::memcpy(buffer_.data() + used_, record, size);
  used_ += size;
  ++count_;
  return true;
}

void BatchWriter::flush() {
  if (count_ == 0) return;
  gt_gpu_batch header{};
  header.magic = GT_GPU_BATCH_MAGIC;
  header.version = GT_GPU_BATCH_VERSION;
  header.header_size = sizeof(gt_gpu_batch);
  header.pid = pid_;
  header.count = count_;
  header.bytes = static_cast<uint32_t>(used_ - sizeof(gt_gpu_batch));
  header.seq = seq_++;
  std::memcpy(buffer_.data(), &header, sizeof(header));
  if (transport_.send(std::span(buffer_).first(used_)))
    ++batches_sent_;
  else
    records_dropped_ += count_;
  used_ = sizeof(gt_gpu_batch);
  count_ = 0;
}

}  // namespace gputrace::cupti
