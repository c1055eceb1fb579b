#include "userspace/analyze/owners.h"

#include "userspace/analyze/open_hash_map.h"

#include <algorithm>
#include <cstring>

namespace gputrace {

const char* to_string(OwnerKind kind) {
  switch (kind) {
    case OwnerKind::Process: return "process";
    case OwnerKind::Driver: return "driver";
    case OwnerKind::Kernel: return "kernel";
  }
  return "?";
}

size_t OwnerTable::KeyHash::operator()(const Key& k) const {
  uint64_t h = mix64(k.pid ^ (k.start_ns << 20) ^ (uint64_t(k.kind) << 60));
  uint64_t word = 0;
  for (size_t i = 0; i < k.comm.size(); i += 8) {
    std::memcpy(&word, k.comm.data() + i, 8);
    h = mix64(h ^ word);
  }
  return h;
}

uint32_t OwnerTable::intern(const ProcessKey& process, OwnerKind kind, std::string_view comm) {
  Key key{process.pid, process.start_ns, kind, {}};
  if (kind != OwnerKind::Process) std::copy_n(comm.data(), std::min(comm.size(), key.comm.size()), key.comm.data());
  if (last_id_ != UINT32_MAX && key == last_key_) return last_id_;
  auto [it, inserted] = by_key_.try_emplace(key, static_cast<uint32_t>(owners_.size()));
  if (inserted) owners_.push_back(Owner{process, kind, std::string(comm)});
  last_key_ = key;
  last_id_ = it->second;
  return it->second;
}

const uint32_t* OwnerTable::find_process_owner(const ProcessKey& process) const {
  auto it = by_key_.find(Key{process.pid, process.start_ns, OwnerKind::Process, {}});
  return it == by_key_.end() ? nullptr : &it->second;
}

}  // namespace gputrace
