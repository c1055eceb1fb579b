// MappingTable: the outstanding DMA mappings, stored compactly. Entries live densely in
// fixed blocks of 16384 (40 bytes each: the bus address and the Mapping, whose device index
// is the rest of the key; blocks, not one vector, so growing never copies the table or
// briefly needs it twice) and an open-addressing index of 32-bit positions finds them (4
// bytes a slot, at most half full). 1 M outstanding mappings take ~48 MB, where a flat table
// of 48-byte slots at the 3/4 load linear probing needs took ~100 MB (the always-on memory
// budget is 100 MB for the kernel table and the daemon together). Erasing moves the last
// entry into the hole, so iteration order depends only on the sequence of operations
// (deterministic); callers that report from a scan still sort what they emit.
#pragma once

#include "userspace/analyze/open_hash_map.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace gputrace {

struct Mapping {
  uint64_t size = 0;
  uint64_t map_ts = 0;
  uint32_t owner = 0;   // OwnerTable id
  int32_t stack = -1;   // StackTable index
  uint32_t device = 0;  // DeviceTable index
  uint8_t dir = 0;
  uint8_t api = 0;
  uint8_t context = 0;
  bool reported = false;  // already reported as leaked (never reported twice)
};
static_assert(sizeof(Mapping) == 32);

class MappingTable {
 public:
  struct Entry {
    uint64_t addr;
    Mapping m;
  };
  static_assert(sizeof(Entry) == 40);

  explicit MappingTable(size_t initial_capacity = 1024);

  size_t size() const { return size_; }
  Mapping* find(uint32_t device, uint64_t addr);
  // Inserts or overwrites the mapping of (m.device, addr); returns true when it was new.
  bool insert_or_assign(uint64_t addr, const Mapping& m);
  bool erase(uint32_t device, uint64_t addr);
  // Visits every entry; fn(uint64_t addr, Mapping&). The table must not change meanwhile.
  template <class Fn>
  void for_each(Fn&& fn) {
    for (uint32_t pos = 0; pos < size_; ++pos) fn(at(pos).addr, at(pos).m);
  }
  // Bytes the table holds (for the memory benchmark and self-protection).
  size_t memory_bytes() const {
    return blocks_.size() * kBlock * sizeof(Entry) + index_.capacity() * sizeof(uint32_t);
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  static constexpr uint32_t kBlockBits = 14;
  static constexpr uint32_t kBlock = 1u << kBlockBits;
  Entry& at(uint32_t pos) { return blocks_[pos >> kBlockBits][pos & (kBlock - 1)]; }
  const Entry& at(uint32_t pos) const { return blocks_[pos >> kBlockBits][pos & (kBlock - 1)]; }
  static size_t hash(uint32_t device, uint64_t addr) { return mix64(addr ^ (uint64_t{device} << 48)); }
  size_t home(uint32_t device, uint64_t addr) const { return hash(device, addr) & (index_.size() - 1); }
  size_t next(size_t i) const { return (i + 1) & (index_.size() - 1); }
  // The index slot holding (device, addr), or the empty slot where it would go.
  size_t slot_of(uint32_t device, uint64_t addr) const;
  void remove_slot(size_t hole);
  void grow();

  std::vector<std::unique_ptr<Entry[]>> blocks_;  // entries, kBlock a block
  uint32_t size_ = 0;
  std::vector<uint32_t> index_;  // positions of entries, kEmpty where free
};

}  // namespace gputrace
