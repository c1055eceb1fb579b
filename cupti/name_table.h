// NameTable: interns kernel names so each is sent once per receiver, then referred to by id.
//
// Ids count up from 1 in the order names are first seen. A name is sent again when the
// transport's epoch changes (a tracer that attached later never saw it) and after a batch was
// dropped (it may have carried the name). The table is bounded: past max_names, new names
// get id 0 ("name unknown") and are counted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace gputrace::cupti {

class NameTable {
 public:
  explicit NameTable(size_t max_names = 1 << 16) : max_names_(max_names) {}

  struct Lookup {
    uint64_t id = 0;
    bool send = false;  // the caller must put the name record in the batch now
  };
  Lookup intern(std::string_view name, uint64_t epoch);
  // Every name must be sent again (a batch that may have carried names was lost).
  void resend_all() { ++generation_; }

  uint64_t overflowed() const { return overflowed_; }
  size_t size() const { return names_.size(); }

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
  uint64_t next_id_ = 1;
  uint64_t generation_ = 0;
  uint64_t overflowed_ = 0;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> names_;
};

}  // namespace gputrace::cupti
