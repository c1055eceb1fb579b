#include "cupti/name_table.h"

namespace gputrace::cupti {

NameTable::Lookup NameTable::intern(std::string_view name, uint64_t epoch) {
  auto it = names_.find(name);
  if (it == names_.end()) {
    if (names_.size() >= max_names_ || name.size() > max_bytes_ - bytes_) {
      ++overflowed_;
      return {};
    }
    it = names_.emplace(std::string(name), Entry{next_id_++}).first;
    bytes_ += name.size();
  }
  Entry& e = it->second;
  const bool send = e.sent_epoch != epoch || e.sent_generation != generation_;
  e.sent_epoch = epoch;
  e.sent_generation = generation_;
  return {e.id, send};
}

}  // namespace gputrace::cupti
