// NameTable: interns kernel names so each is sent once per receiver, then referred to by id.
//
// Ids count up from 1 in the order names are first seen. A name is sent again when the
// transport's epoch changes (a tracer that attached later never saw it) and after a batch was
// dropped (it may have carried the name), and every few seconds (a batch lost in the BPF ring
// is invisible to the library). The table is bounded by count and by bytes (a program that
// generates kernels has no limit on name lengths): past either, new names get id 0 ("name
// unknown") and are counted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace gputrace::cupti {

class NameTable {
 public:
  explicit NameTable(size_t max_names = 1 << 16, size_t max_bytes = 16 << 20)
      : max_names_(max_names), max_bytes_(max_bytes) {}

  struct Lookup {
    uint64_t id = 0;
    bool send = false;  // the caller must put the name record in the batch now
  };
  Lookup intern(std::string_view name, uint64_t epoch);
  // Every name must be sent again (a batch that may have carried names was lost).
  void resend_all() { ++generation_; }

  uint64_t overflowed() const { return overflowed_; }
  size_t size() const { return names_.size(); }
  size_t bytes() const { return bytes_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Entry {
    uint64_t id;
    uint64_t sent_epoch = 0;  // epochs start at 1: 0 is "never sent"
    uint64_t sent_generation = 0;
  };
  size_t max_names_;
  size_t max_bytes_;
  size_t bytes_ = 0;  // name text held, the table's own overhead aside
  uint64_t next_id_ = 1;
  uint64_t generation_ = 0;
  uint64_t overflowed_ = 0;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> names_;
};

}  // namespace gputrace::cupti
