#include "analyze/mapping_table.h"

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
    const Entry& e = entries_[pos];
    if (e.addr == addr && e.m.device == device) return i;
  }
}

Mapping* MappingTable::find(uint32_t device, uint64_t addr) {
  const uint32_t pos = index_[slot_of(device, addr)];
  return pos == kEmpty ? nullptr : &entries_[pos].m;
}

bool MappingTable::insert_or_assign(uint64_t addr, const Mapping& m) {
  if ((entries_.size() + 1) * 2 > index_.size()) grow();
  const size_t slot = slot_of(m.device, addr);
  if (index_[slot] != kEmpty) {
    entries_[index_[slot]].m = m;
    return false;
  }
  index_[slot] = static_cast<uint32_t>(entries_.size());
  entries_.push_back(Entry{addr, m});
  return true;
}

bool MappingTable::erase(uint32_t device, uint64_t addr) {
  const size_t slot = slot_of(device, addr);
  const uint32_t pos = index_[slot];
  if (pos == kEmpty) return false;
  remove_slot(slot);
  // The last entry fills the hole; its index slot follows it.
  const uint32_t last = static_cast<uint32_t>(entries_.size() - 1);
  if (pos != last) {
    const Entry& moved = entries_[last];
    index_[slot_of(moved.m.device, moved.addr)] = pos;
    entries_[pos] = moved;
  }
  entries_.pop_back();
  return true;
}

// Backward-shift deletion: later members of the probe run move into the hole when their
// home allows it, so lookups never need tombstones.
void MappingTable::remove_slot(size_t hole) {
  for (size_t i = next(hole);; i = next(i)) {
    const uint32_t pos = index_[i];
    if (pos == kEmpty) break;
    const size_t h = home(entries_[pos].m.device, entries_[pos].addr);
    const bool movable = (hole <= i) ? (h <= hole || h > i) : (h <= hole && h > i);
    if (!movable) continue;
    index_[hole] = pos;
    hole = i;
  }
  index_[hole] = kEmpty;
}

void MappingTable::grow() {
  index_.assign(index_.size() * 2, kEmpty);
  for (uint32_t pos = 0; pos < entries_.size(); ++pos) index_[slot_of(entries_[pos].m.device, entries_[pos].addr)] = pos;
}

}  // namespace gputrace
