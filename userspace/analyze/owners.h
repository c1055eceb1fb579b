// OwnerTable: on whose behalf mappings were made. A mapping stores a small owner id instead
// of a pid, a start time and a name, which keeps the outstanding-mapping table compact.
#pragma once

#include "userspace/tables/process_table.h"

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace gputrace {

// process: made in a user process's task context; it should release them by its exit.
// driver:  made while a driver was being bound or a module initialised (probe path).
// kernel:  made from an interrupt or a kernel thread: no user process is responsible.
enum class OwnerKind : uint8_t { Process, Driver, Kernel };
const char* to_string(OwnerKind kind);

struct Owner {
  ProcessKey process;    // start_ns 0 when the process table did not know the pid
  OwnerKind kind = OwnerKind::Process;
  std::string comm;
  uint64_t mappings_made = 0;
  uint64_t bytes_mapped = 0;
  uint64_t outstanding = 0;        // mappings still mapped
  uint64_t outstanding_bytes = 0;
  uint64_t leaks_reported = 0;     // mappings reported as leaked
  uint64_t other_findings = 0;     // unmatched unmaps and the like
};

class OwnerTable {
 public:
  // Process owners are one per process (comm is the process's at first mapping); driver and
  // kernel owners are told apart by comm as well, since the pid is incidental there.
  uint32_t intern(const ProcessKey& process, OwnerKind kind, std::string_view comm);
  // The process owner of a process, if it ever mapped anything.
  const uint32_t* find_process_owner(const ProcessKey& process) const;

  Owner& at(uint32_t id) { return owners_[id]; }
  const Owner& at(uint32_t id) const { return owners_[id]; }
  const std::vector<Owner>& all() const { return owners_; }

 private:
  struct Key {
    uint32_t pid;
    uint64_t start_ns;
    OwnerKind kind;
    std::array<char, 16> comm;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };

  std::vector<Owner> owners_;
  std::unordered_map<Key, uint32_t, KeyHash> by_key_;
  Key last_key_{};
  uint32_t last_id_ = UINT32_MAX;
};

}  // namespace gputrace
