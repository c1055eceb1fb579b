// OpenHashMap: a flat, linear-probing hash map for the hot tables (outstanding mappings).
//
// Why not std::unordered_map: it allocates a node per insert and chases a pointer per lookup;
// at millions of DMA events per second that is most of the cost. Here entries live in one
// array, deletion shifts the following run back (no tombstones), and memory per entry is the
// key plus the value. Iteration order depends only on the sequence of operations, so it is
// deterministic; callers that report from a scan still sort what they emit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace gputrace {

template <class Key, class Value, class Hash>
class OpenHashMap {
 public:
  struct Slot {
    Key key{};
    Value value{};
  };

  explicit OpenHashMap(size_t initial_capacity = 1024) { rehash(round_up_pow2(initial_capacity)); }

  size_t size() const { return size_; }

  Value* find(const Key& key) {
    for (size_t i = home(key);; i = next(i)) {
      if (!used_[i]) return nullptr;
      if (slots_[i].key == key) return &slots_[i].value;
    }
  }
  const Value* find(const Key& key) const { return const_cast<OpenHashMap*>(this)->find(key); }

  // Inserts or overwrites; returns true when the key was new.
  bool insert_or_assign(const Key& key, const Value& value) {
    if ((size_ + 1) * 4 > slots_.size() * 3) rehash(slots_.size() * 2);
    size_t i = home(key);
    for (; used_[i]; i = next(i)) {
      if (slots_[i].key == key) {
        slots_[i].value = value;
        return false;
      }
    }
    used_[i] = 1;
    slots_[i] = Slot{key, value};
    ++size_;
    return true;
  }

  bool erase(const Key& key) {
    size_t i = home(key);
    for (;; i = next(i)) {
      if (!used_[i]) return false;
      if (slots_[i].key == key) break;
    }
    shift_back_from(i);
    --size_;
    return true;
  }

  // Visits every entry; fn(const Key&, Value&). The map must not change during the visit.
  template <class Fn>
  void for_each(Fn&& fn) {
    for (size_t i = 0; i < slots_.size(); ++i)
      if (used_[i]) fn(slots_[i].key, slots_[i].value);
  }
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (size_t i = 0; i < slots_.size(); ++i)
      if (used_[i]) fn(slots_[i].key, static_cast<const Value&>(slots_[i].value));
  }

 private:
  static size_t round_up_pow2(size_t n) {
    size_t p = 16;
    while (p < n) p *= 2;
    return p;
  }
  size_t home(const Key& key) const { return Hash{}(key) & (slots_.size() - 1); }
  size_t next(size_t i) const { return (i + 1) & (slots_.size() - 1); }

  // Backward-shift deletion: move later members of the probe run into the hole when their
  // home position allows it, so lookups never need tombstones.
  void shift_back_from(size_t hole) {
    for (size_t i = next(hole);; i = next(i)) {
      if (!used_[i]) break;
      const size_t h = home(slots_[i].key);
      const bool movable = (hole <= i) ? (h <= hole || h > i) : (h <= hole && h > i);
      if (!movable) continue;
      slots_[hole] = slots_[i];
      hole = i;
    }
    used_[hole] = 0;
    slots_[hole] = Slot{};
  }

  void rehash(size_t capacity) {
    std::vector<Slot> old_slots(capacity);
    std::vector<uint8_t> old_used(capacity, 0);
    old_slots.swap(slots_);
    old_used.swap(used_);
    size_ = 0;
    for (size_t i = 0; i < old_slots.size(); ++i)
      if (old_used[i]) insert_or_assign(old_slots[i].key, old_slots[i].value);
  }

  std::vector<Slot> slots_;
  std::vector<uint8_t> used_;
  size_t size_ = 0;
};

// Mixes a 64-bit value (Murmur3's finalizer): kernel pointers and IOVAs share low bits.
inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

}  // namespace gputrace
