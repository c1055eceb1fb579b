#include "userspace/snapshot/snapshot_builder.h"

#include "userspace/capture/capture.h"
#include "userspace/decode/kinds.h"
#include "userspace/engine/engine.h"
#include "userspace/engine/losses.h"
#include "userspace/gc/pause_stats.h"
#include "userspace/gc/runtime_detect.h"
#include "userspace/host/pci_devices.h"

#include <fmt/format.h>

#include <algorithm>

namespace gputrace {
namespace {

DmaApiTotals api_totals(const ApiTotals& t) { return {t.maps, t.unmaps, t.map_bytes, t.unmap_bytes}; }

LatencyTotals latency_totals(const LatencyStats& l) { return {l.count, l.total_ns, l.max_ns}; }

void add_dma_stats(DeviceRow& r, const DeviceDmaStats& s) {
  for (const ApiTotals& t : s.by_api) {
    r.dma_maps += t.maps;
    r.dma_unmaps += t.unmaps;
    r.dma_map_bytes += t.map_bytes;
    r.dma_unmap_bytes += t.unmap_bytes;
  }
  r.dma_page = api_totals(s.by_api[0]);
  r.dma_sg = api_totals(s.by_api[1]);
  r.dma_coherent = api_totals(s.by_api[2]);
  r.dma_outstanding = s.outstanding;
  r.dma_outstanding_bytes = s.outstanding_bytes;
  r.leaked_at_unbind = s.leaked_at_unbind;
  r.leaked_after_owner_exit = s.leaked_after_owner_exit;
  r.dma_leaks = s.leaked_at_unbind + s.leaked_after_owner_exit;
  r.unmaps_of_pre_trace_mappings = s.unmaps_of_pre_trace_mappings;
  r.unmatched_unmaps = s.unmatched_unmaps;
  r.duplicate_maps = s.duplicate_maps;
  r.unbinds = s.unbinds;
}

void add_health(DeviceRow& r, const DeviceHealthCounts& h) {
  r.iommu_faults = h.iommu_faults;
  r.swiotlb_bounces = h.swiotlb_bounces;
  r.swiotlb_bytes = h.swiotlb_bytes;
  r.aer_corrected = h.aer_corrected;
  r.aer_nonfatal = h.aer_nonfatal;
  r.aer_fatal = h.aer_fatal;
  r.iommu_map_latency = latency_totals(h.iommu_map_latency);
  r.iommu_unmap_latency = latency_totals(h.iommu_unmap_latency);
  r.iommu_map_latency_histogram = h.iommu_map_latency.histogram;
  r.iommu_unmap_latency_histogram = h.iommu_unmap_latency.histogram;
}

DeviceRow device_row(const Engine& engine, uint32_t i) {
  const DeviceTable& devices = engine.devices();
  const DeviceInfo& d = devices.at(i);
  DeviceRow r{.index = i, .name = d.name, .driver = d.driver, .bus = d.bus, .traced = d.traced, .vendor = d.vendor,
              .device = d.device, .pci_class = d.pci_class, .gpu = is_gpu_pci_class(d.pci_class),
              .iommu_mode = devices.iommu_mode(i), .iommu_group = d.facts.iommu_group,
              .link_speed_mts = d.facts.link_speed_mts, .link_width = d.facts.link_width,
              .max_link_speed_mts = d.facts.max_link_speed_mts, .max_link_width = d.facts.max_link_width,
              .link_downtrained = d.facts.link_downtrained()};
  if (const DeviceDmaStats* s = engine.mappings().device_stats(i)) add_dma_stats(r, *s);
  const IommuDeviceCounts io = engine.iommu().device_counts(i);
  r.iommu_maps = io.maps;
  r.iommu_unmaps = io.unmaps;
  add_health(r, engine.health().counts(i));
  if (const auto* b = engine.correlation().transfers().bandwidth(i, true)) r.copy_bandwidth_to_device = *b;
  if (const auto* b = engine.correlation().transfers().bandwidth(i, false)) r.copy_bandwidth_from_device = *b;
  return r;
}

std::vector<DeviceRow> device_rows(const Engine& engine) {
  std::vector<DeviceRow> rows;
  for (uint32_t i = 0; i < engine.devices().size(); ++i)
    if (engine.device_listed(i)) rows.push_back(device_row(engine, i));
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
    if (f.kind == FindingKind::iommu_fault) ++r.iommu_faults;
    if (f.kind == FindingKind::pcie_stall) ++r.stalls;
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


RecordCounts record_counts(const EngineStats& st) {
  RecordCounts c{.processed = st.records_processed, .late = st.late_records, .late_gpu = st.late_gpu_records,
                 .max_held = st.max_held_records};
  for (size_t kind = 0; kind < st.records_by_kind.size(); ++kind) {
    if (!st.records_by_kind[kind]) continue;
    const KindInfo& info = kind_info(static_cast<uint16_t>(kind));
    c.by_kind.emplace_back(info.name.empty() ? fmt::format("kind_{}", kind) : std::string(info.name),
                           st.records_by_kind[kind]);
    if (kind > 0) c.by_source[info.source.empty() ? "host" : std::string(info.source)] += st.records_by_kind[kind];
  }
  return c;
}

IommuTotalsRow iommu_totals(const IommuTracker& iommu) {
  const IommuTotals& t = iommu.totals();
  return {t.maps, t.unmaps, t.map_bytes, t.unmap_bytes, t.unmatched_unmaps, t.overlapping_maps,
          iommu.outstanding_ranges(), t.outstanding_bytes};
}

SnapshotSource snapshot_source(const SnapshotInputs& in) {
  SnapshotSource src{.path = in.source_path, .version = GPUTRACE_VERSION, .truncated = in.truncated,
                     .truncation_note = in.truncation_note};
  if (in.host) {
    src.hostname = in.host->hostname;
    src.kernel = in.host->kernel_release;
    src.boot_id = in.host->boot_id;
    src.version = in.host->gputrace_version;
  }
  return src;
}

void add_findings(HostSnapshot& s, const std::vector<Finding>& all, size_t max_findings) {
  // A long run concludes findings without bound; top keeps three snapshots every interval.
  const size_t kept = max_findings ? std::min(max_findings, all.size()) : all.size();
  s.findings.assign(all.end() - static_cast<std::ptrdiff_t>(kept), all.end());
  s.findings_total = all.size();
  for (const char* severity : {"critical", "warning", "info"}) s.findings_by_severity[severity] = 0;
  for (const Finding& f : all) {
    ++s.findings_by_kind[std::string(f.kind_name())];
    ++s.findings_by_severity[to_string(f.severity)];
  }
}

}  // namespace

HostSnapshot take_snapshot(const SnapshotInputs& in) {
  const Engine& engine = *in.engine;
  const EngineStats& st = engine.stats();
  HostSnapshot s;
  s.source = snapshot_source(in);
  s.version = GPUTRACE_VERSION;
  s.taken_ns = st.last_ts;
  s.first_ns = st.first_ts;
  s.complete = engine.finished();
  s.config = engine.config();
  s.records = record_counts(st);
  s.devices = device_rows(engine);
  s.iommu = iommu_totals(engine.iommu());
  s.processes = process_rows(in);
  s.owners = owner_rows(engine);
  s.owners_not_judged = pending_owner_rows(engine);
  if (in.pauses) s.gc_pauses = gc_pause_rows(*in.pauses);
  s.gpu = gpu_section(engine);
  s.shedding = shedding_row(engine.shedding(), st.last_ts);
  add_findings(s, engine.findings(), in.max_findings);
  s.losses = engine_losses(engine);
  s.losses.insert(s.losses.end(), in.caller_losses.begin(), in.caller_losses.end());
  return s;
}

}  // namespace gputrace
