#include "userspace/gc/gc_doctor.h"

#include <fmt/format.h>

#include <unistd.h>

namespace gputrace::gc {

std::vector<GcDiagnosis> diagnose_gc_runtimes(const GcFilter& filter) {
  RuntimeDetector detector;
  std::vector<GcDiagnosis> out;
  for (int pid : list_pids()) {
    if (pid == getpid()) continue;
    auto view = read_process(pid);
    if (!view || !filter.matches_process(*view)) continue;
    Detection d = detector.detect(*view);
    if (d.runtime == Runtime::None || !filter.matches_runtime(d.runtime)) continue;
    out.push_back({pid, view->ns_pid, view->exe, std::move(d)});
  }
  return out;
}

std::string format_gc_diagnosis(const std::vector<GcDiagnosis>& diagnoses) {
  if (diagnoses.empty()) return "GC pauses: no CPython, HotSpot or Go process running\n";
  std::string out;
  for (const auto& g : diagnoses) {
    const std::string who = g.ns_pid != g.pid ? fmt::format("pid {} (pid {} in its namespace)", g.pid, g.ns_pid)
                                              : fmt::format("pid {}", g.pid);
    if (g.detection.traceable)
      out += fmt::format("GC pauses: {} {} ({}): traceable via {}\n", who, g.exe, runtime_name(g.detection.runtime),
                         g.detection.version);
    else
      out += fmt::format("GC pauses: {} {} ({}): NOT traceable: {}. To fix: {}\n", who, g.exe,
                         runtime_name(g.detection.runtime), g.detection.problem, g.detection.fix);
  }
  return out;
}

}  // namespace gputrace::gc
