// AttachManager: finds the processes whose GC pauses should be traced — those running now
// (a /proc scan) and those started later (exec events, or a rescan) — and keeps the probes
// attached: one attachment per runtime file serves every process mapping it, unless the
// user named pids, in which case each pid gets its own.
#pragma once

#include "userspace/gc/gc_probes.h"
#include "userspace/gc/runtime_detect.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace gputrace::gc {

// --pid / --exe / --runtime. Empty sets match everything.
struct GcFilter {
  std::set<int> pids;
  std::vector<std::string> exes;  // a full path, or a basename ("python3.11", "java")
  std::set<Runtime> runtimes;

  bool matches_process(const ProcessView& p) const;
  bool matches_runtime(Runtime r) const { return runtimes.empty() || runtimes.contains(r); }
};

struct TracedProcess {
  int pid = 0;
  int ns_pid = 0;
  Runtime runtime = Runtime::None;
  std::string exe;
  std::string version;
  bool exited = false;
};

struct UntraceableProcess {
  int pid = 0;
  int ns_pid = 0;
  Runtime runtime = Runtime::None;
  std::string exe;
  std::string problem;
  std::string fix;
};

class AttachManager {
 public:
  AttachManager(GcProbes& probes, GcFilter filter) : probes_(probes), filter_(std::move(filter)) {}

  // Walks /proc. Processes seen before are looked at again only while they are young enough
  // to still be loading their runtime (a JVM maps libjvm.so well after exec).
  void scan();
  // The hook for GT_EV_PROC_EXEC (bpf/proc.bpf.c): look at the new program now.
  void on_exec(int pid);
  void on_exit(int pid);
  // Attaches to a runtime file before any process runs it (pid -1: every future process).
  Result<Runtime> attach_path(const std::string& path);

  bool is_traced(int pid) const { return traced_.contains(pid); }
  const std::map<int, TracedProcess>& traced() const { return traced_; }
  const std::map<int, UntraceableProcess>& untraceable() const { return untraceable_; }
  size_t attachments() const { return by_file_.size() + by_pid_.size(); }

 private:
  struct Seen {
    uint64_t start_ticks = 0;
    bool settled = false;  // a verdict was reached (traced, untraceable, or too old to change)
  };

  void inspect(int pid, bool force);
  bool ensure_attached(const ProcessView& p, const Detection& d);

  GcProbes& probes_;
  GcFilter filter_;
  RuntimeDetector detector_;
  std::map<int, Seen> seen_;
  std::map<int, TracedProcess> traced_;
  std::map<int, UntraceableProcess> untraceable_;
  std::map<FileId, ProbeLinks> by_file_;                  // pid -1 attachments
  std::map<std::pair<int, FileId>, ProbeLinks> by_pid_;   // --pid attachments
  std::set<FileId> failed_files_;                          // attach failed once: do not retry each scan
};

}  // namespace gputrace::gc
