#include "userspace/gc/attach_manager.h"

#include "userspace/util/log.h"

#include <unistd.h>

#include <fstream>

namespace gputrace::gc {
namespace {

// A process younger than this may still be loading its runtime: look again on later scans.
constexpr double kSettleSeconds = 20.0;

double process_age_seconds(uint64_t start_ticks) {
  static const long ticks_per_second = sysconf(_SC_CLK_TCK);
  double uptime = 0;
  std::ifstream("/proc/uptime") >> uptime;
  return uptime - static_cast<double>(start_ticks) / static_cast<double>(ticks_per_second);
}

}  // namespace

bool GcFilter::matches_process(const ProcessView& p) const {
  if (!pids.empty() && !pids.contains(p.pid)) return false;
  if (exes.empty()) return true;
  for (const auto& e : exes)
    if (e == p.exe || e == basename_of(p.exe)) return true;
  return false;
}

void AttachManager::scan() {
  std::set<int> alive;
  for (int pid : list_pids()) {
    alive.insert(pid);
    if (pid == getpid()) continue;
    if (!filter_.pids.empty() && !filter_.pids.contains(pid)) continue;
    inspect(pid, false);
  }
  for (auto it = seen_.begin(); it != seen_.end();) {
    if (alive.contains(it->first)) {
      ++it;
      continue;
    }
    const int pid = it->first;
    ++it;
    on_exit(pid);
  }
}

void AttachManager::on_exec(int pid) {
  if (!filter_.pids.empty() && !filter_.pids.contains(pid)) return;
  seen_.erase(pid);  // a new program in an old pid
  traced_.erase(pid);
  untraceable_.erase(pid);
  inspect(pid, true);
}

Result<Runtime> AttachManager::attach_path(const std::string& path) {
  const Detection d = detector_.detect_file(path);
  if (d.runtime == Runtime::None) return fail("{} is not a CPython, HotSpot (libjvm.so) or Go binary", path);
  if (!d.traceable) return fail("{}. To fix: {}", d.problem, d.fix);
  if (by_file_.contains(d.probe_file)) return d.runtime;
  auto links = probes_.attach(d, -1);
  if (!links) return tl::unexpected(links.error());
  by_file_.emplace(d.probe_file, std::move(*links));
  return d.runtime;
}

void AttachManager::on_exit(int pid) {
  seen_.erase(pid);
  untraceable_.erase(pid);
  if (auto it = traced_.find(pid); it != traced_.end()) it->second.exited = true;
  for (auto it = by_pid_.begin(); it != by_pid_.end();)
    it = it->first.first == pid ? by_pid_.erase(it) : std::next(it);
}

void AttachManager::inspect(int pid, bool force) {
  auto view = read_process(pid);
  if (!view) return;  // kernel thread or gone
  Seen& seen = seen_[pid];
  if (seen.start_ticks != view->start_ticks) seen = Seen{view->start_ticks, false};  // pid reused
  if (seen.settled && !force) return;
  if (!filter_.matches_process(*view)) {
    seen.settled = true;
    return;
  }
  const Detection d = detector_.detect(*view);
  if (d.runtime == Runtime::None || !filter_.matches_runtime(d.runtime)) {
    seen.settled = process_age_seconds(view->start_ticks) > kSettleSeconds;
    return;
  }
  seen.settled = true;
  if (!d.traceable) {
    if (!untraceable_.contains(pid))
      log_warning("gc: cannot trace {} pauses of pid {} ({}): {}. To fix: {}", runtime_name(d.runtime), pid, view->exe,
                  d.problem, d.fix);
    untraceable_[pid] = {pid, view->ns_pid, d.runtime, view->exe, d.problem, d.fix};
    return;
  }
  if (!ensure_attached(*view, d)) return;
  traced_[pid] = {pid, view->ns_pid, d.runtime, view->exe, d.version, false};
  if (view->ns_pid != pid)
    log_v1("gc: tracing {} ({}) pid {} (pid {} in its namespace)", runtime_name(d.runtime), view->exe, pid,
           view->ns_pid);
  else
    log_v1("gc: tracing {} ({}) pid {}", runtime_name(d.runtime), view->exe, pid);
}

bool AttachManager::ensure_attached(const ProcessView& p, const Detection& d) {
  const bool per_pid = !filter_.pids.empty();
  if (per_pid ? by_pid_.contains({p.pid, d.probe_file}) : by_file_.contains(d.probe_file)) return true;
  if (!per_pid && failed_files_.contains(d.probe_file)) return false;
  auto links = probes_.attach(d, per_pid ? p.pid : -1);
  if (!links) {
    log_warning("gc: cannot trace {} pauses of pid {} ({}): {}", runtime_name(d.runtime), p.pid, p.exe,
                links.error().describe());
    if (!per_pid) failed_files_.insert(d.probe_file);
    untraceable_[p.pid] = {p.pid, p.ns_pid, d.runtime, p.exe, links.error().describe(),
                           "run gputrace doctor; attaching uprobes needs root (CAP_SYS_ADMIN or CAP_PERFMON)"};
    return false;
  }
  if (per_pid)
    by_pid_.emplace(std::pair{p.pid, d.probe_file}, std::move(*links));
  else
    by_file_.emplace(d.probe_file, std::move(*links));
  return true;
}

}  // namespace gputrace::gc
