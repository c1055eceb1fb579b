#include "exporters/telemetry/metric_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <map>

namespace gputrace::telemetry {
namespace {

double seconds(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

// Adds families in the order they are declared and drops those that end up empty.
class Builder {
 public:
  MetricFamily& family(std::string name, MetricKind kind, MetricScope scope, std::string unit,
                       std::string prom_suffix, std::string help) {
    MetricFamily f;
    f.name = std::move(name);
    f.kind = kind;
    f.scope = scope;
    f.unit = std::move(unit);
    f.prom_suffix = std::move(prom_suffix);
    f.help = std::move(help);
    families_.push_back(std::move(f));
    return families_.back();
  }
  std::vector<MetricFamily> take() {
    std::vector<MetricFamily> out;
    for (MetricFamily& f : families_)
      if (!f.points.empty()) out.push_back(std::move(f));
    return out;
  }

 private:
  std::deque<MetricFamily> families_;  // a deque: the references family() hands out stay valid
};

MetricPoint count_point(uint64_t v, Labels labels = {}, int process = -1) {
  MetricPoint p;
  p.labels = std::move(labels);
  p.process = process;
  p.integer = true;
  p.int_value = v;
  return p;
}

MetricPoint real_point(double v, Labels labels = {}, int process = -1) {
  MetricPoint p;
  p.labels = std::move(labels);
  p.process = process;
  p.integer = false;
  p.double_value = v;
  return p;
}

// A FixedHistogram as a histogram point, its bounds (and sum) divided into the base unit
// (dividing 1000 ns by 1e9 gives 1e-06; multiplying by 1e-9 would not, quite).
template <const auto& kBounds>
MetricPoint histogram_point(const FixedHistogram<kBounds>& h, double per_unit, Labels labels) {
  MetricPoint p;
  p.labels = std::move(labels);
  for (size_t i = 0; i < kBounds.size(); ++i) {
    p.bounds.push_back(kBounds[i] / per_unit);
    p.cumulative.push_back(h.at_most(i));
  }
  p.count = h.count();
  p.sum = h.sum() / per_unit;
  return p;
}

// sysfs says 255 for a width it cannot read (captures made before the parser knew this still
// carry it); a PCIe link has 1 to 32 lanes
bool known_width(uint32_t lanes) { return lanes > 0 && lanes <= 32; }

// The fold of every process that is not named: sums of its members' rows.
void add_into(ProcessRow& into, const ProcessRow& p) {
  into.gc_pauses += p.gc_pauses;
  into.gc_pause_ns += p.gc_pause_ns;
  into.gc_pause_max_ns = std::max(into.gc_pause_max_ns, p.gc_pause_max_ns);
  into.gc_full_collections += p.gc_full_collections;
  for (size_t i = 0; i < into.gc_histogram.cumulative.size(); ++i)
    into.gc_histogram.cumulative[i] += p.gc_histogram.cumulative[i];
  into.gc_histogram.count += p.gc_histogram.count;
  into.gc_histogram.sum_ns += p.gc_histogram.sum_ns;
  if (into.runtime.empty()) into.runtime = p.runtime;  // only "has a runtime" is read for the fold
  into.dma_maps += p.dma_maps;
  into.dma_map_bytes += p.dma_map_bytes;
  into.dma_outstanding += p.dma_outstanding;
  into.dma_outstanding_bytes += p.dma_outstanding_bytes;
  into.dma_leaks += p.dma_leaks;
  into.gpu_kernels += p.gpu_kernels;
  into.gpu_kernel_ns += p.gpu_kernel_ns;
  into.memcpys += p.memcpys;
  into.memcpy_bytes += p.memcpy_bytes;
  into.memcpy_ns += p.memcpy_ns;
  into.memsets += p.memsets;
  into.stalls += p.stalls;
  into.gpu_idle_gc_ns += p.gpu_idle_gc_ns;
  into.findings += p.findings;
  into.iommu_faults += p.iommu_faults;
}

void host_families(Builder& b, const HostSnapshot& s, const MetricModel& m) {
  b.family("gputrace.build.info", MetricKind::Gauge, MetricScope::Host, "1", "",
           "Always 1; labels name the gputrace version and the kernel it runs on.")
      .points.push_back(count_point(1, {{"version", s.version}, {"kernel", s.source.kernel}}));
  b.family("gputrace.observed.duration", MetricKind::Gauge, MetricScope::Host, "s", "seconds",
           "Event time covered by the processed records: newest minus oldest timestamp.")
      .points.push_back(real_point(s.first_ns && s.taken_ns > s.first_ns ? seconds(s.taken_ns - s.first_ns) : 0.0));
  b.family("gputrace.records.processed", MetricKind::Counter, MetricScope::Host, "{record}", "",
           "Records the engine processed, all sources together.")
      .points.push_back(count_point(s.records.processed));
  auto& by_source = b.family("gputrace.records", MetricKind::Counter, MetricScope::Host, "{record}", "",
                             "Records the engine processed, by the collector that produced them.");
  for (const auto& [source, n] : s.records.by_source) by_source.points.push_back(count_point(n, {{"source", source}}));

  auto& losses = b.family("gputrace.losses", MetricKind::Counter, MetricScope::Host, "{event}", "",
                          "Every loss counter, zero or not: events, records, batches or spans not seen or "
                          "not delivered (docs/metrics.md lists each counter and its unit).");
  for (const auto& [name, n] : losses_by_name(s.losses)) losses.points.push_back(count_point(n, {{"counter", name}}));

  b.family("gputrace.shedding.level", MetricKind::Gauge, MetricScope::Host, "1", "",
           "Load shedding now: 0 nothing shed, 1 new mapping-site stacks, 2 also CUDA API records, 3 also "
           "GC pause-begin markers (docs/architecture.md).")
      .points.push_back(count_point(s.shedding ? s.shedding->level : 0));
  b.family("gputrace.shedding.duration", MetricKind::Counter, MetricScope::Host, "s", "seconds",
           "Time gputrace spent shedding work because the host was under pressure.")
      .points.push_back(real_point(s.shedding ? seconds(s.shedding->shed_ns) : 0.0));

  std::map<std::pair<std::string, std::string>, uint64_t> findings;
  for (const Finding& f : s.findings) ++findings[{std::string(f.kind_name()), to_string(f.severity)}];
  // kinds the snapshot counts without the findings themselves (kept findings may be capped)
  for (const auto& [kind, n] : s.findings_by_kind) {
    uint64_t listed = 0;
    for (const auto& [key, c] : findings)
      if (key.first == kind) listed += c;
    if (n > listed) findings[{kind, "unknown"}] += n - listed;
  }
  auto& f = b.family("gputrace.findings", MetricKind::Counter, MetricScope::Host, "{finding}", "",
                     "Findings concluded, by kind (docs/findings.md) and severity.");
  for (const auto& [key, n] : findings) f.points.push_back(count_point(n, {{"kind", key.first}, {"severity", key.second}}));

  uint32_t folded = 0;
  for (const ProcessGroup& g : m.processes)
    if (g.folded()) folded = g.members;
  b.family("gputrace.processes.tracked", MetricKind::Gauge, MetricScope::Host, "{process}", "",
           "Processes with any traced activity, named or folded into pid=\"other\".")
      .points.push_back(count_point(s.processes.size()));
  b.family("gputrace.processes.folded", MetricKind::Gauge, MetricScope::Host, "{process}", "",
           "Processes whose series are folded into pid=\"other\" (beyond --top-processes).")
      .points.push_back(count_point(folded));
}

void device_families(Builder& b, const HostSnapshot& s) {
  auto dev = [](const DeviceRow& d) { return Labels{{"device", d.name}}; };
  auto& info = b.family("gputrace.device.info", MetricKind::Gauge, MetricScope::Device, "1", "",
                        "Always 1; labels describe a traced device: driver, PCI ids and class, IOMMU mode and group.");
  auto& maps = b.family("gputrace.device.dma.maps", MetricKind::Counter, MetricScope::Device, "{mapping}", "",
                        "DMA-API mappings made for the device (page, sg and coherent).");
  auto& unmaps = b.family("gputrace.device.dma.unmaps", MetricKind::Counter, MetricScope::Device, "{mapping}", "",
                          "DMA-API mappings released for the device.");
  auto& mapped = b.family("gputrace.device.dma.mapped", MetricKind::Counter, MetricScope::Device, "By", "bytes",
                          "Bytes mapped for the device's DMA.");
  auto& unmapped = b.family("gputrace.device.dma.unmapped", MetricKind::Counter, MetricScope::Device, "By", "bytes",
                            "Bytes unmapped for the device's DMA.");
  auto& out_n = b.family("gputrace.device.dma.outstanding.mappings", MetricKind::Gauge, MetricScope::Device,
                         "{mapping}", "", "DMA mappings of the device outstanding now.");
  auto& out_b = b.family("gputrace.device.dma.outstanding", MetricKind::Gauge, MetricScope::Device, "By", "bytes",
                         "Bytes of the device's DMA mappings outstanding now.");
  auto& leaks = b.family("gputrace.device.dma.leaks", MetricKind::Counter, MetricScope::Device, "{mapping}", "",
                         "Mappings of the device reported leaked (at driver unbind or after their owner exited).");
  auto& faults = b.family("gputrace.device.iommu.faults", MetricKind::Counter, MetricScope::Device, "{fault}", "",
                          "IOMMU faults raised by the device.");
  auto& bounces = b.family("gputrace.device.swiotlb.bounces", MetricKind::Counter, MetricScope::Device, "{bounce}", "",
                           "DMA transfers of the device bounced through swiotlb.");
  auto& bounced = b.family("gputrace.device.swiotlb.bounced", MetricKind::Counter, MetricScope::Device, "By", "bytes",
                           "Bytes of the device's DMA copied through swiotlb bounce buffers.");
  auto& aer = b.family("gputrace.device.pcie.aer.errors", MetricKind::Counter, MetricScope::Device, "{error}", "",
                       "PCIe AER errors reported for the device, by severity (corrected, nonfatal, fatal).");
  auto& latency = b.family("gputrace.device.iommu.latency", MetricKind::Histogram, MetricScope::Device, "s", "seconds",
                           "Time the IOMMU driver took to map or unmap for the device.");
  auto& bandwidth = b.family("gputrace.device.gpu.memcpy.bandwidth", MetricKind::Histogram, MetricScope::Device, "By/s",
                             "bytes_per_second",
                             "Achieved bandwidth of host<->device copies of at least 4 MiB (pcie_stall's minimum), "
                             "by direction.");
  auto& speed = b.family("gputrace.device.pcie.link.speed", MetricKind::Gauge, MetricScope::Device, "{transfer}/s",
                         "transfers_per_second", "PCIe link speed the device trained to, per lane.");
  auto& max_speed = b.family("gputrace.device.pcie.link.max_speed", MetricKind::Gauge, MetricScope::Device,
                             "{transfer}/s", "transfers_per_second", "Fastest PCIe link speed the device supports, per lane.");
  auto& width = b.family("gputrace.device.pcie.link.width", MetricKind::Gauge, MetricScope::Device, "{lane}", "lanes",
                         "PCIe lanes the device's link trained to.");
  auto& max_width = b.family("gputrace.device.pcie.link.max_width", MetricKind::Gauge, MetricScope::Device, "{lane}",
                             "lanes", "PCIe lanes the device supports.");
  auto& downtrained_gauge = b.family("gputrace.device.pcie.link.downtrained", MetricKind::Gauge, MetricScope::Device, "1", "",
                               "1 when the link runs slower or narrower than the device supports, else 0.");
  for (const DeviceRow& d : s.devices) {
    info.points.push_back(count_point(1, {{"device", d.name},
                                          {"driver", d.driver},
                                          {"vendor_id", fmt::format("0x{:04x}", d.vendor)},
                                          {"device_id", fmt::format("0x{:04x}", d.device)},
                                          {"class", fmt::format("0x{:06x}", d.pci_class)},
                                          {"gpu", d.gpu ? "true" : "false"},
                                          {"iommu_mode", d.iommu_mode},
                                          {"iommu_group", d.iommu_group >= 0 ? std::to_string(d.iommu_group) : ""}}));
    maps.points.push_back(count_point(d.dma_maps, dev(d)));
    unmaps.points.push_back(count_point(d.dma_unmaps, dev(d)));
    mapped.points.push_back(count_point(d.dma_map_bytes, dev(d)));
    unmapped.points.push_back(count_point(d.dma_unmap_bytes, dev(d)));
    out_n.points.push_back(count_point(d.dma_outstanding, dev(d)));
    out_b.points.push_back(count_point(d.dma_outstanding_bytes, dev(d)));
    leaks.points.push_back(count_point(d.dma_leaks, dev(d)));
    faults.points.push_back(count_point(d.iommu_faults, dev(d)));
    bounces.points.push_back(count_point(d.swiotlb_bounces, dev(d)));
    bounced.points.push_back(count_point(d.swiotlb_bytes, dev(d)));
    aer.points.push_back(count_point(d.aer_corrected, {{"device", d.name}, {"severity", "corrected"}}));
    aer.points.push_back(count_point(d.aer_nonfatal, {{"device", d.name}, {"severity", "nonfatal"}}));
    aer.points.push_back(count_point(d.aer_fatal, {{"device", d.name}, {"severity", "fatal"}}));
    latency.points.push_back(histogram_point(d.iommu_map_latency_histogram, 1e9, {{"device", d.name}, {"op", "map"}}));
    latency.points.push_back(histogram_point(d.iommu_unmap_latency_histogram, 1e9, {{"device", d.name}, {"op", "unmap"}}));
    // only devices that copied: a NIC or a disk has no such series
    for (auto [direction, h] : {std::pair{"htod", &d.copy_bandwidth_to_device}, std::pair{"dtoh", &d.copy_bandwidth_from_device}})
      if (h->count()) bandwidth.points.push_back(histogram_point(*h, 1.0, {{"device", d.name}, {"direction", direction}}));
    // link facts are gauges of what sysfs said; unknown is left out
    if (d.link_speed_mts) speed.points.push_back(count_point(uint64_t{d.link_speed_mts} * 1'000'000, dev(d)));
    if (d.max_link_speed_mts) max_speed.points.push_back(count_point(uint64_t{d.max_link_speed_mts} * 1'000'000, dev(d)));
    if (known_width(d.link_width)) width.points.push_back(count_point(d.link_width, dev(d)));
    if (known_width(d.max_link_width)) max_width.points.push_back(count_point(d.max_link_width, dev(d)));
    if (d.link_speed_mts && d.max_link_speed_mts) downtrained_gauge.points.push_back(count_point(d.link_downtrained ? 1 : 0, dev(d)));
  }
}

void process_families(Builder& b, const std::vector<ProcessRow>& rows, const MetricModel& m) {
  auto& info = b.family("gputrace.process.info", MetricKind::Gauge, MetricScope::Process, "1", "",
                        "Always 1; labels say what a process's series do not carry, because it can come or go "
                        "while the process lives: its container id and managed runtime. Join on pid.");
  auto& gc_hist = b.family("gputrace.process.gc.pause.duration", MetricKind::Histogram, MetricScope::Process, "s",
                           "seconds", "Garbage-collector pauses of the process (CPython, HotSpot, Go).");
  auto& gc_max = b.family("gputrace.process.gc.pause.max", MetricKind::Gauge, MetricScope::Process, "s", "seconds",
                          "Longest garbage-collector pause of the process so far.");
  auto& gc_full = b.family("gputrace.process.gc.full_collections", MetricKind::Counter, MetricScope::Process,
                           "{collection}", "",
                           "Collections of the whole heap: HotSpot full collections and CPython generation-2 "
                           "collections (Go's collector is not generational and is not counted).");
  auto& gc_share = b.family("gputrace.process.gc.pause.wall_share", MetricKind::Gauge, MetricScope::Process, "1",
                            "ratio", "Share of wall time the process stood still in GC pauses (0..1; named processes only).");
  auto& maps = b.family("gputrace.process.dma.maps", MetricKind::Counter, MetricScope::Process, "{mapping}", "",
                        "DMA mappings made in the process's context.");
  auto& mapped = b.family("gputrace.process.dma.mapped", MetricKind::Counter, MetricScope::Process, "By", "bytes",
                          "Bytes mapped for DMA in the process's context.");
  auto& out_n = b.family("gputrace.process.dma.outstanding.mappings", MetricKind::Gauge, MetricScope::Process,
                         "{mapping}", "", "DMA mappings the process made that are outstanding now.");
  auto& out_b = b.family("gputrace.process.dma.outstanding", MetricKind::Gauge, MetricScope::Process, "By", "bytes",
                         "Bytes of the process's DMA mappings outstanding now.");
  auto& leaks = b.family("gputrace.process.dma.leaks", MetricKind::Counter, MetricScope::Process, "{mapping}", "",
                         "Mappings the process made that were reported leaked.");
  auto& kernels = b.family("gputrace.process.gpu.kernels", MetricKind::Counter, MetricScope::Process, "{kernel}", "",
                           "GPU kernels the process launched (CUPTI).");
  auto& kernel_time = b.family("gputrace.process.gpu.kernel.time", MetricKind::Counter, MetricScope::Process, "s",
                               "seconds", "GPU time of the kernels the process launched.");
  auto& copies = b.family("gputrace.process.gpu.memcpys", MetricKind::Counter, MetricScope::Process, "{copy}", "",
                          "GPU memory copies the process issued.");
  auto& copied = b.family("gputrace.process.gpu.memcpy.transferred", MetricKind::Counter, MetricScope::Process, "By",
                          "bytes", "Bytes the process's GPU memory copies moved.");
  auto& copy_time = b.family("gputrace.process.gpu.memcpy.time", MetricKind::Counter, MetricScope::Process, "s",
                             "seconds", "Time the process's GPU memory copies were in flight.");
  auto& memsets = b.family("gputrace.process.gpu.memsets", MetricKind::Counter, MetricScope::Process, "{memset}", "",
                           "GPU memsets the process issued.");
  auto& idle_gc = b.family("gputrace.process.gpu.idle_during_gc", MetricKind::Counter, MetricScope::Process, "s",
                           "seconds", "GPU idle time attributed to the process's GC pauses.");
  auto& stalls = b.family("gputrace.process.pcie.stalls", MetricKind::Counter, MetricScope::Process, "{stall}", "",
                          "PCIe stalls (pcie_stall findings) of the process's transfers.");
  auto& findings = b.family("gputrace.process.findings", MetricKind::Counter, MetricScope::Process, "{finding}", "",
                            "Findings that name the process.");
  auto& faults = b.family("gputrace.process.iommu.faults", MetricKind::Counter, MetricScope::Process, "{fault}", "",
                          "IOMMU faults (iommu_fault findings) that name the process.");

  std::vector<double> bounds;
  for (uint64_t ns : kPauseBucketBoundsNs) bounds.push_back(seconds(ns));
  for (size_t i = 0; i < rows.size(); ++i) {
    const ProcessRow& p = rows[i];
    const int g = static_cast<int>(i);
    const bool folded = m.processes[i].folded();
    info.points.push_back(count_point(1, {{"container", m.processes[i].container}, {"runtime", m.processes[i].runtime}}, g));
    // a process gets the families of what it does; once it has them they stay (counters grow)
    if (p.gc_pauses || !p.runtime.empty()) {
      MetricPoint h;
      h.process = g;
      h.bounds = bounds;
      h.cumulative.assign(p.gc_histogram.cumulative.begin(), p.gc_histogram.cumulative.end());
      h.count = p.gc_histogram.count;
      h.sum = seconds(p.gc_histogram.sum_ns);
      if (p.gc_histogram.count) h.max = seconds(p.gc_pause_max_ns);
      gc_hist.points.push_back(std::move(h));
      gc_max.points.push_back(real_point(seconds(p.gc_pause_max_ns), {}, g));
      gc_full.points.push_back(count_point(p.gc_full_collections, {}, g));
      // a share of wall time does not add up across processes
      if (!folded) gc_share.points.push_back(real_point(p.gc_wall_share, {}, g));
    }
    if (p.dma_maps || p.dma_outstanding || p.dma_leaks) {
      maps.points.push_back(count_point(p.dma_maps, {}, g));
      mapped.points.push_back(count_point(p.dma_map_bytes, {}, g));
      out_n.points.push_back(count_point(p.dma_outstanding, {}, g));
      out_b.points.push_back(count_point(p.dma_outstanding_bytes, {}, g));
      leaks.points.push_back(count_point(p.dma_leaks, {}, g));
    }
    if (p.gpu_kernels || p.memcpys || p.memsets) {
      kernels.points.push_back(count_point(p.gpu_kernels, {}, g));
      kernel_time.points.push_back(real_point(seconds(p.gpu_kernel_ns), {}, g));
      copies.points.push_back(count_point(p.memcpys, {}, g));
      copied.points.push_back(count_point(p.memcpy_bytes, {}, g));
      copy_time.points.push_back(real_point(seconds(p.memcpy_ns), {}, g));
      memsets.points.push_back(count_point(p.memsets, {}, g));
      stalls.points.push_back(count_point(p.stalls, {}, g));
      idle_gc.points.push_back(real_point(seconds(p.gpu_idle_gc_ns), {}, g));
    }
    findings.points.push_back(count_point(p.findings, {}, g));
    if (p.iommu_faults) faults.points.push_back(count_point(p.iommu_faults, {}, g));
  }
}

}  // namespace

Labels MetricModel::labels_of(const MetricPoint& p) const {
  Labels labels;
  if (p.process >= 0) labels = processes[static_cast<size_t>(p.process)].identity();
  labels.insert(labels.end(), p.labels.begin(), p.labels.end());
  return labels;
}

std::string MetricFamily::prometheus_name() const {
  std::string out = name;
  std::replace(out.begin(), out.end(), '.', '_');
  if (!prom_suffix.empty() && !out.ends_with("_" + prom_suffix)) out += "_" + prom_suffix;
  if (kind == MetricKind::Counter) out += "_total";
  return out;
}

MetricModel build_metric_model(const HostSnapshot& snapshot, const ProcessSelection& selection) {
  MetricModel m;
  // one row per group: the named processes by pid, then the fold
  std::vector<ProcessRow> rows;
  ProcessRow other;
  uint32_t folded = 0;
  std::vector<const ProcessRow*> named;
  for (const ProcessRow& p : snapshot.processes) {
    if (selection.named(p.pid)) {
      named.push_back(&p);
    } else {
      add_into(other, p);
      ++folded;
    }
  }
  std::sort(named.begin(), named.end(), [](const ProcessRow* a, const ProcessRow* b) { return a->pid < b->pid; });
  for (const ProcessRow* p : named) {
    m.processes.push_back({.pid = std::to_string(p->pid), .comm = p->comm, .container = p->container, .runtime = p->runtime});
    rows.push_back(*p);
  }
  if (folded) {
    m.processes.push_back({.pid = "other", .comm = "other", .container = "", .runtime = "", .members = folded});
    rows.push_back(other);
  }

  Builder b;
  host_families(b, snapshot, m);
  device_families(b, snapshot);
  process_families(b, rows, m);
  m.families = b.take();
  return m;
}

}  // namespace gputrace::telemetry
