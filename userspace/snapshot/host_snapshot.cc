#include "snapshot/host_snapshot.h"

#include "capture/capture.h"
#include "engine/engine.h"
#include "engine/losses.h"
#include "gc/pause_stats.h"
#include "gc/runtime_detect.h"
#include "host/pci_devices.h"

namespace gputrace {
namespace {

// Which part of gputrace produced a record kind (bpf/common.h reserves ranges per source).
const char* source_of_kind(unsigned kind) {
  if (kind >= 1 && kind <= 9) return "proc";
  if (kind >= 10 && kind <= 19) return "dma";
  if (kind >= 20 && kind <= 29) return "iommu";
  if (kind >= 30 && kind <= 39) return "pcie";
  if (kind >= 40 && kind <= 59) return "gc";
  if (kind >= 60 && kind <= 79) return "gpu";
  return "host";
}

std::vector<DeviceRow> device_rows(const Engine& engine) {
  std::vector<DeviceRow> rows;
  const DeviceTable& devices = engine.devices();
  for (uint32_t i = 0; i < devices.size(); ++i) {
    if (!engine.device_listed(i)) continue;
    const DeviceInfo& d = devices.at(i);
    DeviceRow r{.name = d.name, .driver = d.driver, .vendor = d.vendor, .device = d.device,
                .pci_class = d.pci_class, .gpu = is_gpu_pci_class(d.pci_class),
                .iommu_mode = devices.iommu_mode(i), .iommu_group = d.facts.iommu_group,
                .link_speed_mts = d.facts.link_speed_mts, .link_width = d.facts.link_width,
                .max_link_speed_mts = d.facts.max_link_speed_mts, .max_link_width = d.facts.max_link_width};
    if (const DeviceDmaStats* s = engine.mappings().device_stats(i)) {
      for (const ApiTotals& t : s->by_api) {
        r.dma_maps += t.maps;
        r.dma_unmaps += t.unmaps;
        r.dma_map_bytes += t.map_bytes;
        r.dma_unmap_bytes += t.unmap_bytes;
      }
      r.dma_outstanding = s->outstanding;
      r.dma_outstanding_bytes = s->outstanding_bytes;
      r.dma_leaks = s->leaked_at_unbind + s->leaked_after_owner_exit;
    }
    const DeviceHealthCounts h = engine.health().counts(i);
    r.iommu_faults = h.iommu_faults;
    r.swiotlb_bounces = h.swiotlb_bounces;
    r.swiotlb_bytes = h.swiotlb_bytes;
    r.aer_corrected = h.aer_corrected;
    r.aer_nonfatal = h.aer_nonfatal;
    r.aer_fatal = h.aer_fatal;
    r.iommu_map_latency_count = h.iommu_map_latency.count;
    r.iommu_map_latency_ns = h.iommu_map_latency.total_ns;
    r.iommu_unmap_latency_count = h.iommu_unmap_latency.count;
    r.iommu_unmap_latency_ns = h.iommu_unmap_latency.total_ns;
    r.iommu_map_latency_histogram = h.iommu_map_latency.histogram;
    r.iommu_unmap_latency_histogram = h.iommu_unmap_latency.histogram;
    if (const auto* b = engine.correlation().transfers().bandwidth(i, true)) r.copy_bandwidth_to_device = *b;
    if (const auto* b = engine.correlation().transfers().bandwidth(i, false)) r.copy_bandwidth_from_device = *b;
    rows.push_back(std::move(r));
  }
  std::sort(rows.begin(), rows.end(), [](const DeviceRow& a, const DeviceRow& b) { return a.name < b.name; });
  return rows;
}

PauseHistogram pause_histogram(const gc::DurationHistogram& h) {
  PauseHistogram out{.count = h.count(), .sum_ns = h.total()};
  for (size_t i = 0; i < kPauseBucketBoundsNs.size(); ++i) out.cumulative[i] = h.count_at_most(kPauseBucketBoundsNs[i]);
  return out;
}

// Fills what the host no longer tells of an exited process from what an earlier snapshot
// learned of the same process (same pid and start), and returns what is known of it now.
ProcessIdentities::Known remember_identity(const ProcessIdentities& before, uint32_t pid, uint64_t start_ns,
                                           ProcessRow& r) {
  if (auto it = before.by_pid.find(pid); it != before.by_pid.end() && it->second.start_ns == start_ns) {
    if (r.container.empty()) r.container = it->second.container;
    if (r.runtime.empty()) r.runtime = it->second.runtime;
  }
  return {start_ns, r.container, r.runtime};
}

// One row per pid that did anything gputrace measures. A pid reused by a second process
// shows the newest one's name; its counts are the pid's.
std::vector<ProcessRow> process_rows(const SnapshotInputs& in) {
  const Engine& engine = *in.engine;
  std::map<uint32_t, ProcessRow> rows;
  auto row = [&](uint32_t pid) -> ProcessRow& {
    ProcessRow& r = rows[pid];
    r.pid = pid;
    return r;
  };
  for (const Owner& o : engine.mappings().owners().all()) {
    if (o.process.pid == 0) continue;
    // A driver's mappings leaked at unbind are the probing process's findings: count them
    // where the findings are (LEAKS next to FIND), not its maps or outstanding ones.
    if (o.kind == OwnerKind::Driver && o.leaks_reported) {
      ProcessRow& r = row(o.process.pid);
      if (r.comm.empty()) r.comm = o.comm;
      r.dma_leaks += o.leaks_reported;
    }
    if (o.kind != OwnerKind::Process) continue;
    ProcessRow& r = row(o.process.pid);
    if (r.comm.empty()) r.comm = o.comm;
    r.dma_maps += o.mappings_made;
    r.dma_map_bytes += o.bytes_mapped;
    r.dma_outstanding += o.outstanding;
    r.dma_outstanding_bytes += o.outstanding_bytes;
    r.dma_leaks += o.leaks_reported;
  }
  if (in.pauses) {
    for (const gc::ProcessPauseSummary& s : in.pauses->summary()) {
      ProcessRow& r = row(static_cast<uint32_t>(s.pid));
      r.runtime = s.runtime == gc::Runtime::None ? "" : std::string(gc::runtime_name(s.runtime));
      r.gc_pauses = s.count;
      r.gc_pause_ns = s.total_ns;
      r.gc_pause_max_ns = s.max_ns;
      r.gc_pause_p99_ns = s.p99_ns;
      r.gc_full_collections = s.full_collections;
      r.gc_wall_share = s.wall_share;
      if (const gc::DurationHistogram* h = in.pauses->gc_histogram(s.pid)) r.gc_histogram = pause_histogram(*h);
    }
  }
  for (const auto& [pid, g] : engine.correlation().processes()) {
    ProcessRow& r = row(pid);
    r.gpu_kernels = g.kernels;
    r.gpu_kernel_ns = g.kernel_ns;
    r.memcpys = g.memcpys;
    r.memcpy_bytes = g.memcpy_bytes;
    r.memcpy_ns = g.memcpy_ns;
    r.memsets = g.memsets;
    r.gpu_idle_gc_ns = g.idle_gc_ns;
  }
  for (const Finding& f : engine.findings()) {
    if (f.pid == 0) continue;
    ProcessRow& r = row(f.pid);
    ++r.findings;
    if (f.kind == "iommu_fault") ++r.iommu_faults;
    if (f.kind == "pcie_stall") ++r.stalls;
    if (r.comm.empty()) r.comm = f.comm;
  }
  std::vector<ProcessRow> out;
  out.reserve(rows.size());
  std::map<uint32_t, ProcessIdentities::Known> known;
  for (auto& [pid, r] : rows) {
    // A live process's name is the table's (exec renames it). An exited one keeps the name
    // its events gave (the table can hold a fork-time name when the exec was not seen),
    // else the last name the table had for the pid: one seen only by its GC pauses.
    const ProcessInfo* p = engine.processes().live(pid);
    r.exited = p == nullptr;
    if (!p) p = engine.processes().latest(pid);
    if (p && !p->comm.empty() && (!r.exited || r.comm.empty())) r.comm = p->comm;
    if (in.container_of && !r.exited) r.container = in.container_of(pid);
    if (in.identities) known.emplace(pid, remember_identity(*in.identities, pid, p ? p->key.start_ns : 0, r));
    out.push_back(std::move(r));
  }
  if (in.identities) in.identities->by_pid = std::move(known);
  return out;
}

}  // namespace

HostSnapshot take_snapshot(const SnapshotInputs& in) {
  const Engine& engine = *in.engine;
  const EngineStats& st = engine.stats();
  HostSnapshot s;
  s.taken_ns = st.last_ts;
  s.first_ns = st.first_ts;
  s.version = GPUTRACE_VERSION;
  if (in.host) {
    s.hostname = in.host->hostname;
    s.kernel = in.host->kernel_release;
  }
  s.records = st.records_processed;
  for (unsigned kind = 1; kind < st.records_by_kind.size(); ++kind) {
    if (st.records_by_kind[kind]) s.records_by_source[source_of_kind(kind)] += st.records_by_kind[kind];
  }
  s.devices = device_rows(engine);
  s.processes = process_rows(in);
  // A long run concludes findings without bound; top keeps three snapshots every interval.
  const std::vector<Finding>& all = engine.findings();
  const size_t kept = in.max_findings ? std::min(in.max_findings, all.size()) : all.size();
  s.findings.assign(all.end() - static_cast<std::ptrdiff_t>(kept), all.end());
  s.findings_total = all.size();
  for (const char* severity : {"critical", "warning", "info"}) s.findings_by_severity[severity] = 0;
  for (const Finding& f : all) {
    ++s.findings_by_kind[f.kind];
    ++s.findings_by_severity[to_string(f.severity)];
  }
  for (const LossCounter& l : engine_losses(engine)) s.losses[l.name] += l.count;
  for (const auto& [name, value] : in.extra_losses) s.losses[name] += value;
  return s;
}

}  // namespace gputrace
