#include "userspace/gc/gc_tracer.h"

extern "C" {
#include "bpf/proc.h"
}

#include "userspace/util/clock.h"
#include "userspace/util/log.h"

namespace gputrace::gc {

Result<std::unique_ptr<GcTracer>> GcTracer::start(const SharedMaps& maps, GcOptions options) {
  auto probes = GcProbes::load(maps);
  if (!probes) return tl::unexpected(probes.error());
  std::unique_ptr<GcTracer> tracer(new GcTracer(std::move(*probes), std::move(options)));
  // A path given with --exe is attached at once, so its processes are traced from the start
  // even when none runs yet and no exec record ever reaches us.
  for (const auto& exe : tracer->options_.filter.exes) {
    if (!exe.starts_with("/") || !tracer->options_.filter.pids.empty()) continue;
    if (auto r = tracer->manager_.attach_path(exe); !r) log_warning("gc: {}", r.error().describe());
  }
  tracer->manager_.scan();
  tracer->last_scan_ns_ = monotonic_ns();
  return tracer;
}

void GcTracer::on_record(const Record& r) {
  if (r.kind() == GT_EV_PROC_EXEC)
    manager_.on_exec(static_cast<int>(r.header.pid));
  else if (r.kind() == GT_EV_PROC_EXIT)
    manager_.on_exit(static_cast<int>(r.header.pid));
}

void GcTracer::tick(uint64_t now_ns) {
  if (now_ns - last_scan_ns_ < options_.rescan_period_ns) return;
  last_scan_ns_ = now_ns;
  manager_.scan();
}

}  // namespace gputrace::gc
