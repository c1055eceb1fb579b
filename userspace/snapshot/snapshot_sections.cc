// The read model's larger sections: mapping owners, owners whose exit
// is not judged yet, the GPU correlation's totals and baselines, GC pauses in full, and
// load shedding.
#include "userspace/engine/engine.h"
#include "userspace/gc/pause_stats.h"
#include "userspace/model/shedding.h"
#include "userspace/snapshot/snapshot_builder.h"

#include "userspace/model/shedding.h"

extern "C" {
#include "bpf/gpu.h"
}

#include <cmath>

namespace gputrace {
namespace {

double gbps(uint64_t bytes, uint64_t ns) {
  return ns ? std::round(static_cast<double>(bytes) / static_cast<double>(ns) * 100) / 100 : 0.0;
}

const char* size_class_name(uint8_t c) {
  static const char* const names[] = {"4-16MiB", "16-64MiB", ">=64MiB"};
  return c < 3 ? names[c] : "?";
}

const char* library_state_name(uint32_t state) {
  switch (state) {
    case GT_GPU_STATE_ACTIVE: return "active";
    case GT_GPU_STATE_OTHER_SUBSCRIBER: return "other_subscriber";
    case GT_GPU_STATE_CUPTI_FAILED: return "cupti_failed";
    case GT_GPU_STATE_EXITING: return "exited";
    case GT_GPU_STATE_DETACHED: return "detached";
  }
  return "unknown";
}

const char* clock_mode_name(uint32_t mode) {
  switch (mode) {
    case GT_GPU_CLOCK_MONOTONIC: return "monotonic";
    case GT_GPU_CLOCK_CALIBRATED: return "calibrated";
    case GT_GPU_CLOCK_RAW: return "raw";
  }
  return "unknown";
}

GpuLibraryRow library_row(const GpuLibraryStatus& l) {
  GpuLibraryRow r{.state = library_state_name(l.state), .cupti_result = l.cupti_result, .holder = l.holder,
          .clock = clock_mode_name(l.clock_mode), .clock_error_ns = l.clock_error_ns, .records = l.records,
          .dropped_cupti = l.dropped_cupti, .dropped_local = l.dropped_local, .untimed = l.untimed,
          .truncated = l.truncated, .buffers_cut_short = l.buffers_cut_short,
          .names_overflowed = l.names_overflowed, .headers_version = l.headers_version,
          .layout_unverified = l.layout_unverified};
  if (l.has_guards)
    r.guards = GpuGuardsRow{.process_rate_limited = l.process_rate_limited,
                            .thread_rate_limited = l.thread_rate_limited,
                            .invalid_timestamp = l.invalid_timestamp,
                            .non_monotonic = l.non_monotonic,
                            .buffers_refused = l.buffers_refused,
                            .process_limit = l.process_limit,
                            .thread_limit = l.thread_limit,
                            .device_buffers = l.device_buffers,
                            .max_buffers = l.max_buffers};
  return r;
}

}  // namespace

// Every owner of mappings, with its process's details where the table has them.
std::vector<OwnerRow> owner_rows(const Engine& engine) {
  std::vector<OwnerRow> out;
  for (const Owner& o : engine.mappings().owners().all()) {
    const ProcessInfo* p = engine.processes().find(o.process);
    // An owner made before the process table described its process has start_ns 0 and
    // matches no key: the pid's latest process is the one that made it.
    if (!p && o.process.start_ns == 0 && o.process.pid != 0) p = engine.processes().latest(o.process.pid);
    OwnerRow r{.pid = o.process.pid, .start_ns = o.process.start_ns, .comm = o.comm, .owner_kind = to_string(o.kind),
               .mappings_made = o.mappings_made, .bytes_mapped = o.bytes_mapped, .outstanding = o.outstanding,
               .outstanding_bytes = o.outstanding_bytes, .leaks_reported = o.leaks_reported,
               .other_findings = o.other_findings};
    if (p) {
      r.exe = p->exe;
      r.ppid = p->ppid;
      r.cgroup_id = p->cgroup_id;
      if (p->exited) r.exit_ns = p->exit_ns;
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<PendingOwnerRow> pending_owner_rows(const Engine& engine) {
  std::vector<PendingOwnerRow> out;
  for (const PendingExit& p : engine.mappings().not_judged()) {
    uint64_t outstanding = 0;
    for (uint32_t id : p.owners) outstanding += engine.mappings().owners().at(id).outstanding;
    out.push_back({p.process.pid, p.process.start_ns, p.comm, p.exit_ns, outstanding});
  }
  return out;
}

GpuSection gpu_section(const Engine& engine) {
  const Correlator& c = engine.correlation();
  GpuSection out;
  for (const auto& [pid, s] : c.processes()) {
    const ProcessInfo* p = engine.processes().latest(pid);
    GpuProcessRow r{.pid = pid, .comm = p ? p->comm : "", .kernels = s.kernels, .kernel_ns = s.kernel_ns,
                    .memcpys = s.memcpys, .memcpy_bytes = s.memcpy_bytes, .memcpy_ns = s.memcpy_ns,
                    .memcpy_gbps = gbps(s.memcpy_bytes, s.memcpy_ns), .memsets = s.memsets,
                    .stalled_copies = s.stalled_copies, .idle_gc_ns = s.idle_gc_ns,
                    .idle_gc_pauses = s.idle_gc_pauses, .overhead_records = s.overhead_records,
                    .overhead_ns = s.overhead_ns, .graph_launches = s.graph_launches};
    if (s.library) r.library = library_row(*s.library);
    out.processes.push_back(std::move(r));
  }
  for (const TransferBaseline& b : c.transfers().baselines()) {
    out.baselines.push_back({.device = b.device < engine.devices().size() ? engine.devices().at(b.device).name : "unknown",
                             .direction = b.to_device ? "HtoD" : "DtoH",
                             .size_class = size_class_name(b.size_class),
                             .host_memory = b.pageable ? "pageable" : "pinned",
                             .samples = b.samples,
                             .median_gbps = std::round(b.median_bytes_per_s / 1e7) / 100});
  }
  const TransferStats& t = c.transfers().stats();
  out.transfers = {t.copies, t.judged, t.stalled, t.unbound_device, t.shared_link};
  const CorrelationStats& cs = c.stats();
  out.correlation = {cs.activities, cs.max_pending, cs.pending_dropped, cs.beyond_history, cs.open_pause_expired,
                     c.idle().idle_gc_ns()};
  return out;
}

std::vector<GcPauseRow> gc_pause_rows(const gc::PauseStats& pauses) {
  std::vector<GcPauseRow> out;
  for (const auto& p : pauses.summary())
    out.push_back({.pid = p.pid, .ns_pid = p.ns_pid, .runtime = std::string(gc::runtime_name(p.runtime)),
                   .pauses = p.count, .total_ns = p.total_ns, .max_ns = p.max_ns, .p50_ns = p.p50_ns,
                   .p90_ns = p.p90_ns, .p99_ns = p.p99_ns, .wall_share = p.wall_share,
                   .full_collections = p.full_count, .go_cycles = p.cycles, .non_gc_count = p.non_gc_count,
                   .non_gc_total_ns = p.non_gc_total_ns, .non_gc_max_ns = p.non_gc_max_ns,
                   .non_gc_reasons = p.non_gc_reasons});
  return out;
}

std::optional<SheddingRow> shedding_row(const ShedHistory& history, uint64_t now_ns) {
  if (!history.seen()) return std::nullopt;
  const gt_shed_event& e = *history.latest();
  const auto reading = [](uint32_t v) -> std::optional<double> {
    return v == GT_SHED_UNKNOWN ? std::nullopt : std::optional(v / 100.0);
  };
  SheddingRow r{.level = e.level, .reasons = describe_shed_reasons(e.reasons), .since_ns = history.since_ns(),
                .changes = history.changes(), .shed_ns = history.shed_ns(now_ns),
                .cpu_busy_pct = reading(e.cpu_busy), .memory_psi = reading(e.memory_psi),
                .memory_available_pct = reading(e.memory_available)};
  r.shed = shed_work_names(e.flags);
  return r;
}

}  // namespace gputrace
