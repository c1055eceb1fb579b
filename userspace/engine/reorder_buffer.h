// ReorderBuffer: holds copies of records and hands them back in timestamp order.
//
// Records from different CPUs reach us slightly out of order. The buffer copies each record
// into pooled blocks (no heap allocation per record once the pool is warm), keeps a small
// index entry per record, and releases every record up to a horizon sorted by (timestamp,
// arrival), so equal timestamps keep their arrival order. New arrivals are sorted as a batch
// and merged into the held suffix only where they overlap it, which for nearly ordered
// input costs little more than an append.
#pragma once

#include "userspace/decode/record.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace gputrace {

class ReorderBuffer {
 public:
  explicit ReorderBuffer(size_t block_bytes = size_t{1} << 20);

  // Copies the record; the caller's bytes may be reused as soon as this returns.
  void push(const Record& record);

  // Calls fn for every held record with ts <= horizon, in order. The Record's bytes are
  // valid only during the call.
  void release_through(uint64_t horizon, const std::function<void(const Record&)>& fn);
  void release_all(const std::function<void(const Record&)>& fn) { release_through(UINT64_MAX, fn); }
  // Calls fn for the n oldest held records, in order (a bound on what the buffer holds).
  void release_oldest(size_t n, const std::function<void(const Record&)>& fn);

  size_t held() const { return (ordered_.size() - head_) + incoming_.size(); }
  size_t arena_bytes() const;

 private:
  struct Entry {
    uint64_t ts;
    uint32_t block;
    uint32_t offset;
  };
  struct Block {
    std::unique_ptr<std::byte[]> data;
    size_t capacity = 0;
    size_t used = 0;
    uint32_t live = 0;  // records copied here and not yet released
  };

  Entry copy_in(const Record& record);
  void release_head(const std::function<void(const Record&)>& fn);
  uint32_t take_block(size_t min_bytes);
  void release_record_storage(uint32_t block);
  void merge_incoming();

  size_t block_bytes_;
  std::vector<Block> blocks_;
  std::vector<uint32_t> free_blocks_;
  uint32_t current_ = 0;
  std::vector<Entry> ordered_;   // sorted; [head_, end) still held
  size_t head_ = 0;
  std::vector<Entry> incoming_;  // arrival order, not yet merged
};

}  // namespace gputrace
