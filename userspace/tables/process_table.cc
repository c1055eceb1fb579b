#include "userspace/tables/process_table.h"

#include <cstring>

namespace gputrace {

std::string fixed_string(const char* chars, size_t max_len) {
  return std::string(chars, strnlen(chars, max_len));
}

ProcessInfo& ProcessTable::upsert(const ProcessKey& key) {
  auto [it, inserted] = processes_.try_emplace(key);
  if (inserted) it->second.key = key;
  return it->second;
}

void ProcessTable::fill_from(ProcessInfo& p, const gt_proc_event& e) {
  p.ppid = e.ppid;
  p.ns_pid = e.ns_pid;
  p.cgroup_id = e.cgroup_id;
  p.comm = fixed_string(e.comm, sizeof(e.comm));
  p.comm_from_fork = false;
  std::string exe = fixed_string(e.filename, sizeof(e.filename));
  if (!exe.empty()) p.exe = std::move(exe);
}

void ProcessTable::on_info(const gt_proc_event& e) {
  ++generation_;
  ProcessInfo& p = upsert({e.hdr.pid, e.start_ns});
  fill_from(p, e);
  p.seen_at_start = true;
  if (!p.exited) live_start_[e.hdr.pid] = e.start_ns;
}

void ProcessTable::on_exec(const gt_proc_event& e) {
  ++generation_;
  // exec keeps the task (and its start time); a start time we have not seen means the fork
  // was missed: the new key replaces whatever held the pid before.
  ProcessInfo& p = upsert({e.hdr.pid, e.start_ns});
  fill_from(p, e);
  live_start_[e.hdr.pid] = e.start_ns;
}

void ProcessTable::on_fork(const gt_fork_event& e) {
  ++generation_;
  ProcessInfo& child = upsert({e.child_pid, e.child_start_ns});
  child.ppid = e.hdr.pid;
  child.comm = fixed_string(e.comm, sizeof(e.comm));
  child.comm_from_fork = true;
  if (const ProcessInfo* parent = live(e.hdr.pid)) {
    child.exe = parent->exe;
    child.cgroup_id = parent->cgroup_id;
  }
  live_start_[e.child_pid] = e.child_start_ns;
}

ProcessInfo ProcessTable::on_exit(const gt_exit_event& e) {
  ++generation_;
  const ProcessKey key{e.hdr.pid, e.start_ns};
  ProcessInfo& p = upsert(key);
  // The name at exit is the process's last one, unless an exec already named it: then the
  // exit's name may be a worker thread's (the last thread out names the event).
  std::string exit_comm = fixed_string(e.comm, sizeof(e.comm));
  if ((p.comm.empty() || p.comm_from_fork) && !exit_comm.empty()) {
    p.comm = std::move(exit_comm);
    p.comm_from_fork = false;
  }
  p.exited = true;
  p.exit_ns = e.hdr.ts_ns;
  p.exit_code = e.exit_code;
  auto live_it = live_start_.find(e.hdr.pid);
  if (live_it != live_start_.end() && live_it->second == e.start_ns) live_start_.erase(live_it);
  ProcessInfo exited = p;
  exited_order_.push_back(key);
  evict_exited();
  return exited;
}

void ProcessTable::evict_exited() {
  while (exited_order_.size() > max_exited_kept_) {
    const ProcessKey oldest = exited_order_.front();
    exited_order_.pop_front();
    auto it = processes_.find(oldest);
    if (it == processes_.end() || it->second.pinned) continue;
    processes_.erase(it);
    ++evicted_;
  }
}

const ProcessInfo* ProcessTable::live(uint32_t pid) const {
  auto it = live_start_.find(pid);
  return it == live_start_.end() ? nullptr : find({pid, it->second});
}

const ProcessInfo* ProcessTable::latest(uint32_t pid) const {
  if (const ProcessInfo* p = live(pid)) return p;
  auto it = processes_.upper_bound(ProcessKey{pid, UINT64_MAX});  // past every start of pid
  if (it == processes_.begin()) return nullptr;
  --it;
  return it->first.pid == pid ? &it->second : nullptr;
}

const ProcessInfo* ProcessTable::find(const ProcessKey& key) const {
  auto it = processes_.find(key);
  return it == processes_.end() ? nullptr : &it->second;
}

void ProcessTable::pin(const ProcessKey& key) {
  auto it = processes_.find(key);
  if (it != processes_.end()) it->second.pinned = true;
}

}  // namespace gputrace
