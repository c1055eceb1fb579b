// ProcessTable: who each pid was, over time. Keyed by (pid, start_ns) so a reused pid is a
// different process; exited processes are kept (bounded) so reports can still name them.
#pragma once

extern "C" {
#include "bpf/proc.h"
}

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <unordered_map>

namespace gputrace {

struct ProcessKey {
  uint32_t pid = 0;
  uint64_t start_ns = 0;  // 0: the process was never described (its start is unknown)
  auto operator<=>(const ProcessKey&) const = default;
};

struct ProcessInfo {
  ProcessKey key;
  uint32_t ppid = 0;
  uint32_t ns_pid = 0;
  uint64_t cgroup_id = 0;
  std::string comm;
  bool comm_from_fork = false;  // the parent's name, inherited: no exec seen since
  std::string exe;          // filename of the last exec, empty if unknown
  bool seen_at_start = false;  // from the /proc snapshot (GT_EV_PROC_INFO)
  bool exited = false;
  uint64_t exit_ns = 0;
  int32_t exit_code = 0;
  bool pinned = false;      // referenced by an analyzer: never evicted
};

class ProcessTable {
 public:
  explicit ProcessTable(size_t max_exited_kept = 1 << 16) : max_exited_kept_(max_exited_kept) {}

  void on_info(const gt_proc_event& e);  // GT_EV_PROC_INFO
  void on_exec(const gt_proc_event& e);  // GT_EV_PROC_EXEC
  void on_fork(const gt_fork_event& e);  // GT_EV_PROC_FORK
  // GT_EV_PROC_EXIT: returns the process that exited (created if it was never seen).
  ProcessInfo on_exit(const gt_exit_event& e);

  // The process currently holding pid, or nullptr.
  const ProcessInfo* live(uint32_t pid) const;
  // The live process holding pid, else the last one that did (exited, still kept), or nullptr.
  const ProcessInfo* latest(uint32_t pid) const;
  const ProcessInfo* find(const ProcessKey& key) const;
  // Keeps a process in the table for as long as the engine lives (owners of mappings).
  void pin(const ProcessKey& key);

  const std::map<ProcessKey, ProcessInfo>& all() const { return processes_; }
  // Grows whenever a process is described, forks, execs or exits: caches of lookups compare it.
  uint64_t generation() const { return generation_; }
  uint64_t evicted() const { return evicted_; }

 private:
  ProcessInfo& upsert(const ProcessKey& key);
  void fill_from(ProcessInfo& p, const gt_proc_event& e);
  void evict_exited();

  size_t max_exited_kept_;
  std::map<ProcessKey, ProcessInfo> processes_;
  std::unordered_map<uint32_t, uint64_t> live_start_;  // pid -> start_ns of its live process
  std::deque<ProcessKey> exited_order_;
  uint64_t evicted_ = 0;
  uint64_t generation_ = 0;
};

// A fixed-size, maybe unterminated char array as a string.
std::string fixed_string(const char* chars, size_t max_len);

}  // namespace gputrace
