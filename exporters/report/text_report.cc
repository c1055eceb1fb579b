// Renders the report as text for people: worst findings first with their evidence, then
// devices and their DMA totals, the owners of mappings, and the loss counters. It goes to a
// terminal: every string from the trace passes through safe_text.
#include "exporters/report/gpu_section.h"
#include "exporters/report/report.h"
#include "exporters/report/safe_text.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace gputrace {
namespace {

using json = nlohmann::ordered_json;

std::string inline_object(const json& object) {
  std::string out;
  for (const auto& [k, v] : object.items()) out += fmt::format("{}{}={}", out.empty() ? "" : " ", safe_text(k), safe_text(v));
  return out;
}

// The evidence's "device" is left out where the line naming the finding's subject says it.
void render_evidence(std::string& out, const json& evidence, const std::string& subject_device) {
  for (const auto& [key, value] : evidence.items()) {
    if (key == "device" && value.is_string() && value.get_ref<const std::string&>() == subject_device) continue;
    if (value.is_array() && !value.empty()) {
      out += fmt::format("      {}:\n", safe_text(key));
      for (const auto& item : value) out += fmt::format("        {}\n", safe_text(item));
    } else if (value.is_object()) {
      out += fmt::format("      {}: {}\n", safe_text(key), inline_object(value));
    } else if (!value.is_array()) {
      out += fmt::format("      {}: {}\n", safe_text(key), safe_text(value));
    }
  }
}

// Event time as seconds since the first record (what a person compares), "before start"
// for the rare finding whose evidence predates it.
std::string since(uint64_t ns, uint64_t origin) {
  return ns >= origin ? fmt::format("+{:.3f} s", static_cast<double>(ns - origin) / 1e9) : "before start";
}

// Whom a finding is about, when it names a process or a device (a pcie_stall's message alone
// does not say which).
std::string subject(const Finding& f) {
  std::string out;
  if (f.pid) out += fmt::format("process: {}[{}]", safe_text(f.comm), f.pid);
  if (!f.device.empty()) out += fmt::format("{}device: {}", out.empty() ? "" : "  ", safe_text(f.device));
  return out;
}

void render_findings(std::string& out, const HostSnapshot& s) {
  auto severity = [&](const char* name) {
    auto it = s.findings_by_severity.find(name);
    return it == s.findings_by_severity.end() ? uint64_t{0} : it->second;
  };
  out += fmt::format("\nFINDINGS: {} ({} critical, {} warning, {} info)\n", s.findings.size(), severity("critical"),
                     severity("warning"), severity("info"));
  if (s.findings.empty()) out += "  none\n";
  for (const Finding* f : findings_worst_first(s)) {
    out += fmt::format("  [{}] {}  {}\n", to_string(f->severity), f->kind_name(), safe_text(f->message));
    if (const std::string who = subject(*f); !who.empty()) out += "      " + who + "\n";
    out += fmt::format("      time: {} .. {} ({} .. {} ns)\n", since(f->start_ns, s.first_ns),
                       since(f->end_ns, s.first_ns), f->start_ns, f->end_ns);
    render_evidence(out, f->evidence, f->device);
  }
}

std::string maps_unmaps(const DmaApiTotals& t) { return fmt::format("{}/{}", t.maps, t.unmaps); }

void render_devices(std::string& out, const HostSnapshot& s) {
  out += fmt::format("\nDEVICES ({})\n", s.devices.size());
  out += fmt::format("  {:<14} {:<14} {:<9} {:>15} {:>15} {:>15} {:>20} {:>9} {:>6}\n", "device", "driver", "iommu",
                     "page map/unmap", "sg map/unmap", "coh alloc/free", "outstanding (bytes)", "pre-trace", "faults");
  for (const DeviceRow* d : devices_in_report_order(s)) {
    const std::string driver = safe_text(d->driver);
    out += fmt::format("  {:<14} {:<14} {:<9} {:>15} {:>15} {:>15} {:>20} {:>9} {:>6}\n", safe_text(d->name),
                       driver.empty() ? "-" : driver, safe_text(d->iommu_mode), maps_unmaps(d->dma_page),
                       maps_unmaps(d->dma_sg), maps_unmaps(d->dma_coherent),
                       fmt::format("{} ({})", d->dma_outstanding, d->dma_outstanding_bytes),
                       d->unmaps_of_pre_trace_mappings, d->iommu_faults);
    if (d->link_known() && d->link_downtrained)
      out += fmt::format("    link downtrained: {} MT/s x{} of {} MT/s x{}\n", d->link_speed_mts, d->link_width,
                         d->max_link_speed_mts, d->max_link_width);
  }
}

void render_owners(std::string& out, const HostSnapshot& s) {
  out += fmt::format("\nMAPPING OWNERS ({})\n", s.owners.size());
  for (const OwnerRow& p : s.owners)
    out += fmt::format("  {}[{}] {:<8} made {} ({} bytes), outstanding {}, leaks {}{}\n", safe_text(p.comm), p.pid,
                       safe_text(p.owner_kind), p.mappings_made, p.bytes_mapped, p.outstanding, p.leaks_reported,
                       p.exit_ns ? ", exited" : "");
  for (const PendingOwnerRow& p : s.owners_not_judged)
    out += fmt::format("  note: {}[{}] exited less than the leak grace before the end of the trace: its {} "
                       "outstanding mapping(s) were not judged\n",
                       safe_text(p.comm), p.pid, p.outstanding);
}

// Dropped data first; records that came late but were still processed apart, after it.
void render_losses(std::string& out, const std::vector<LossCounter>& losses) {
  uint64_t total = 0;
  size_t counters = 0;
  std::string nonzero, late;
  for (const LossCounter& l : losses) {
    const std::string name = safe_text(l.name);
    const std::string row = fmt::format("  {:<40} {:>12}  ({})\n", name, l.count, safe_text(l.source));
    if (counts_late_records(name)) {
      if (l.count) late += row;
      continue;
    }
    ++counters;
    total += l.count;
    if (l.count) nonzero += row;
  }
  out += fmt::format("\nLOSSES: {}\n", total == 0 ? fmt::format("none ({} counters, all zero)", counters) : "");
  out += nonzero;
  if (!late.empty()) out += "  late, still processed (after the reorder window; nothing lost):\n" + late;
}

void render_gc_pauses(std::string& out, const HostSnapshot& s) {
  if (!s.gc_pauses) return;
  out += fmt::format("\nGC PAUSES ({} processes)\n", s.gc_pauses->size());
  if (s.gc_pauses->empty()) return;
  out += fmt::format("  {:>7} {:<8} {:>7} {:>11} {:>10} {:>10} {:>10} {:>7} {:>7}\n", "pid", "runtime", "pauses", "total ms",
                     "max us", "p50 us", "p99 us", "wall %", "non-gc");
  for (const GcPauseRow& p : *s.gc_pauses)
    out += fmt::format("  {:>7} {:<8} {:>7} {:>11.3f} {:>10.1f} {:>10.1f} {:>10.1f} {:>7.2f} {:>7}\n", p.pid,
                       safe_text(p.runtime), p.pauses, p.total_ns / 1e6, p.max_ns / 1e3, p.p50_ns / 1e3,
                       p.p99_ns / 1e3, p.wall_share * 100, p.non_gc_count);
}

// What gputrace gave up while the host was under pressure: a reader must know the timeline
// is thinner there, and why.
void render_shedding(std::string& out, const HostSnapshot& s) {
  if (!s.shedding) return;
  const SheddingRow& r = *s.shedding;
  out += fmt::format("\nLOAD SHEDDING: level {} since {} ns ({}){}; {} changes, {:.1f} s shed in all\n", r.level,
                     r.since_ns, r.level ? "pressure: " + r.reasons : "pressure passed",
                     r.shed.empty() ? "" : fmt::format(", shedding {}", fmt::join(r.shed, ", ")), r.changes,
                     r.shed_ns / 1e9);
}

}  // namespace

std::string render_text_report(const HostSnapshot& s) {
  std::string out;
  const SnapshotSource& src = s.source;
  out += fmt::format("gputrace report ({})  source {}\n", kReportSchema, safe_text(src.path));
  out += fmt::format("host {}  kernel {}  boot {}  gputrace {}\n", safe_text(src.hostname), safe_text(src.kernel),
                     safe_text(src.boot_id), safe_text(src.version));
  const double seconds = s.taken_ns > s.first_ns ? double(s.taken_ns - s.first_ns) / 1e9 : 0.0;
  out += fmt::format("time {} .. {} ns ({:.3f} s){}\n", s.first_ns, s.taken_ns, seconds,
                     s.complete ? "" : ", still running");
  if (src.truncated) out += fmt::format("note: {}\n", safe_text(src.truncation_note));
  render_findings(out, s);
  render_devices(out, s);
  const IommuTotalsRow& io = s.iommu;
  out += fmt::format("\nIOMMU page tables: {} maps, {} unmaps ({} matched nothing), {} ranges ({} bytes) outstanding\n",
                     io.maps, io.unmaps, io.unmatched_unmaps, io.outstanding_ranges, io.outstanding_bytes);
  render_owners(out, s);
  render_gc_pauses(out, s);
  render_gpu_section(out, s.gpu);
  render_shedding(out, s);
  render_losses(out, s.losses);
  out += fmt::format("\nrecords: {} processed, {} late\n", s.records.processed, s.records.late);
  return out;
}

}  // namespace gputrace
