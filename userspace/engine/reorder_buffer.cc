#include "userspace/engine/reorder_buffer.h"

#include <algorithm>
#include <cstring>

namespace gputrace {
namespace {

constexpr size_t kMaxPooledBlocks = 64;  // keep a warm pool, give the rest back to the allocator

bool by_ts(const auto& a, const auto& b) { return a.ts < b.ts; }

}  // namespace

ReorderBuffer::ReorderBuffer(size_t block_bytes) : block_bytes_(std::max<size_t>(block_bytes, 4096)) {
  current_ = take_block(block_bytes_);
}

size_t ReorderBuffer::arena_bytes() const {
  size_t total = 0;
  for (const auto& b : blocks_) total += b.capacity;
  return total;
}

uint32_t ReorderBuffer::take_block(size_t min_bytes) {
  if (min_bytes <= block_bytes_ && !free_blocks_.empty()) {
    const uint32_t index = free_blocks_.back();
    free_blocks_.pop_back();
    return index;
  }
  const size_t capacity = std::max(min_bytes, block_bytes_);
  for (uint32_t i = 0; i < blocks_.size(); ++i) {
    // A slot whose storage was given back (an oversized block, or beyond the pool limit).
    if (!blocks_[i].data) {
      blocks_[i] = Block{std::make_unique<std::byte[]>(capacity), capacity, 0, 0};
      return i;
    }
  }
  blocks_.push_back(Block{std::make_unique<std::byte[]>(capacity), capacity, 0, 0});
  return static_cast<uint32_t>(blocks_.size() - 1);
}

ReorderBuffer::Entry ReorderBuffer::copy_in(const Record& record) {
  const size_t size = record.bytes.size();
  if (blocks_[current_].capacity - blocks_[current_].used < size) {
    const uint32_t previous = current_;
    current_ = take_block(size);
    // The old block may already be empty: recycle it now instead of leaking it from the pool.
    if (blocks_[previous].live == 0) release_record_storage(previous);
  }
  Block& block = blocks_[current_];
  Entry entry{record.ts(), current_, static_cast<uint32_t>(block.used)};
  std::memcpy(block.data.get() + block.used, record.bytes.data(), size);
  // Records are 8-byte multiples (the decoder checks): the next copy stays aligned.
  block.used += (size + 7) & ~size_t{7};
  ++block.live;
  return entry;
}

void ReorderBuffer::release_record_storage(uint32_t index) {
  Block& block = blocks_[index];
  if (block.live != 0 || index == current_) return;
  block.used = 0;
  if (block.capacity == block_bytes_ && free_blocks_.size() < kMaxPooledBlocks) {
    free_blocks_.push_back(index);
  } else {
    block = Block{};
  }
}

void ReorderBuffer::push(const Record& record) {
  const Entry entry = copy_in(record);
  incoming_.push_back(entry);
}

void ReorderBuffer::merge_incoming() {
  if (incoming_.empty()) return;
  if (!std::is_sorted(incoming_.begin(), incoming_.end(), by_ts<Entry, Entry>))
    std::stable_sort(incoming_.begin(), incoming_.end(), by_ts<Entry, Entry>);
  if (head_ > 0 && head_ * 2 >= ordered_.size()) {
    ordered_.erase(ordered_.begin(), ordered_.begin() + static_cast<ptrdiff_t>(head_));
    head_ = 0;
  }
  const auto old_end = static_cast<ptrdiff_t>(ordered_.size());
  // Only the held records newer than the first arrival need merging; upper_bound keeps
  // earlier arrivals first among equal timestamps.
  const auto first_overlap =
      std::upper_bound(ordered_.begin() + static_cast<ptrdiff_t>(head_), ordered_.end(), incoming_.front(),
                       by_ts<Entry, Entry>) - ordered_.begin();
  ordered_.insert(ordered_.end(), incoming_.begin(), incoming_.end());
  incoming_.clear();
  if (first_overlap < old_end)
    std::inplace_merge(ordered_.begin() + first_overlap, ordered_.begin() + old_end, ordered_.end(),
                       by_ts<Entry, Entry>);
}

void ReorderBuffer::release_head(const std::function<void(const Record&)>& fn) {
  const Entry entry = ordered_[head_++];
  const std::byte* at = blocks_[entry.block].data.get() + entry.offset;
  Record record;
  std::memcpy(&record.header, at, sizeof(record.header));
  record.bytes = std::span<const std::byte>(at, record.header.size);
  fn(record);
  --blocks_[entry.block].live;
  release_record_storage(entry.block);
}

void ReorderBuffer::release_through(uint64_t horizon, const std::function<void(const Record&)>& fn) {
  merge_incoming();
  while (head_ < ordered_.size() && ordered_[head_].ts <= horizon) release_head(fn);
  if (head_ == ordered_.size()) {
    ordered_.clear();
    head_ = 0;
  }
}

void ReorderBuffer::release_oldest(size_t n, const std::function<void(const Record&)>& fn) {
  merge_incoming();
  for (; n > 0 && head_ < ordered_.size(); --n) release_head(fn);
  if (head_ == ordered_.size()) {
    ordered_.clear();
    head_ = 0;
  }
}

}  // namespace gputrace
