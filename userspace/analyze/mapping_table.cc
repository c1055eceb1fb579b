#include "userspace/analyze/mapping_table.h"

#include <bit>

namespace gputrace {

MappingTable::MappingTable(size_t initial_capacity) {
  size_t n = 16;
  while (n < initial_capacity * 2) n *= 2;
  index_.assign(n, kEmpty);
}

size_t MappingTable::slot_of(uint32_t device, uint64_t addr) const {
  for (size_t i = home(device, addr);; i = next(i)) {
    const uint32_t pos = index_[i];
    if (pos == kEmpty) return i;
    const Entry& e = at(pos);
    if (e.addr == addr && e.m.device == device) return i;
  }
}

Mapping* MappingTable::find(uint32_t device, uint64_t addr) {
  const uint32_t pos = index_[slot_of(device, addr)];
  return pos == kEmpty ? nullptr : &at(pos).m;
}

bool MappingTable::insert_or_assign(uint64_t addr, const Mapping& m) {
  if ((size_ + 1) * 2 > index_.size()) grow();
  const size_t slot = slot_of(m.device, addr);
  if (index_[slot] != kEmpty) {
    at(index_[slot]).m = m;
    return false;
  }
  if ((size_ >> kBlockBits) == blocks_.size()) blocks_.push_back(std::make_unique<Entry[]>(kBlock));
  index_[slot] = size_;
  at(size_++) = Entry{addr, m};
  return true;
}

bool MappingTable::erase(uint32_t device, uint64_t addr) {
  const size_t slot = slot_of(device, addr);
  const uint32_t pos = index_[slot];
  if (pos == kEmpty) return false;
  remove_slot(slot);
  // The last entry fills the hole; its index slot follows it.
  const uint32_t last = size_ - 1;
  if (pos != last) {
    const Entry& moved = at(last);
    index_[slot_of(moved.m.device, moved.addr)] = pos;
    at(pos) = moved;
  }
  --size_;
  // an emptied last block goes back (two spare would make a table at a block boundary churn)
  if (blocks_.size() > (size_ >> kBlockBits) + 2) blocks_.pop_back();
  return true;
}

// Backward-shift deletion: later members of the probe run move into the hole when their
// home allows it, so lookups never need tombstones.
void MappingTable::remove_slot(size_t hole) {
  for (size_t i = next(hole);; i = next(i)) {
    const uint32_t pos = index_[i];
    if (pos == kEmpty) break;
    const size_t h = home(at(pos).m.device, at(pos).addr);
    const bool movable = (hole <= i) ? (h <= hole || h > i) : (h <= hole && h > i);
    if (!movable) continue;
    index_[hole] = pos;
    hole = i;
  }
  index_[hole] = kEmpty;
}

void MappingTable::grow() {
  std::vector<uint32_t>().swap(index_);  // the old index goes first: never both at once
  index_.assign(size_t{1} << std::bit_width((size_t{size_} + 1) * 2), kEmpty);
  for (uint32_t pos = 0; pos < size_; ++pos) index_[slot_of(at(pos).m.device, at(pos).addr)] = pos;
}

}  // namespace gputrace
