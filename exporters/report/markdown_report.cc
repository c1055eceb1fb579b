#include "exporters/report/markdown_report.h"

#include "exporters/report/device_fields.h"
#include "exporters/report/listing.h"
#include "exporters/report/safe_text.h"
#include "userspace/util/units.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace gputrace {
namespace {

using json = nlohmann::ordered_json;

// Every string from the trace goes through safe_text (no terminal escape, valid UTF-8).
std::string str(const json& v) { return safe_text(v); }
std::string str(const std::string& v) { return safe_text(v); }

// Table cells: a pipe would end the cell (safe_text already made a newline a '?').
std::string cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else out += c;
  }
  return out.empty() ? "-" : out;
}
std::string cell(const json& v) { return cell(str(v)); }
std::string cell(const char* s) { return cell(std::string(s)); }

std::string since(uint64_t ns, uint64_t origin) {
  return ns >= origin ? fmt::format("+{:.3f} s", static_cast<double>(ns - origin) / 1e9) : "before start";
}

std::string plural(uint64_t n, const char* one, const char* many) { return fmt::format("{} {}", n, n == 1 ? one : many); }

std::string join(const std::vector<std::string>& items, size_t max_items = 4) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max_items; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > max_items) out += fmt::format(" and {} more", items.size() - max_items);
  return out;
}

// What a finding kind means, in words; docs/findings.md has the rules behind each.
std::string kind_sentence(std::string_view kind, uint64_t n) {
  if (kind == "dma_leak_unbind") return fmt::format("{} still mapped when the driver unbound", plural(n, "DMA mapping was", "DMA mappings were"));
  if (kind == "dma_leak_owner_exit") return fmt::format("{} the process that made them", plural(n, "DMA mapping outlived", "DMA mappings outlived"));
  if (kind == "dma_unmap_unmatched") return fmt::format("{} no outstanding mapping (double or mismatched unmaps)", plural(n, "unmap matched", "unmaps matched"));
  if (kind == "dma_mapping_growth") return fmt::format("{} of outstanding mappings growing without bound", plural(n, "case", "cases"));
  if (kind == "iommu_fault") return fmt::format("{}", plural(n, "IOMMU fault finding", "IOMMU fault findings"));
  return fmt::format("{} {}", n, kind);
}

void evidence_rows(std::string& out, const json& evidence, std::vector<std::pair<std::string, const json*>>& lists) {
  for (const auto& [key, value] : evidence.items()) {
    if (value.is_array()) {
      if (!value.empty()) lists.emplace_back(key, &value);
    } else if (value.is_object()) {
      std::string inline_text;
      for (const auto& [k, v] : value.items()) inline_text += fmt::format("{}{}={}", inline_text.empty() ? "" : " ", str(k), str(v));
      out += fmt::format("| {} | {} |\n", cell(str(key)), cell(inline_text));
    } else {
      out += fmt::format("| {} | {} |\n", cell(str(key)), cell(value));
    }
  }
}

void render_finding(std::string& out, size_t number, const Finding& f, uint64_t origin) {
  out += fmt::format("### {}. {} · `{}`\n\n", number, to_string(f.severity), f.kind_name());
  out += str(f.message) + "\n\n";
  out += "| evidence | value |\n|---|---|\n";
  out += fmt::format("| time | {} .. {} ({} .. {} ns) |\n", since(f.start_ns, origin), since(f.end_ns, origin),
                     f.start_ns, f.end_ns);
  if (f.pid) out += fmt::format("| process | {}[{}] |\n", cell(str(f.comm)), f.pid);
  if (!f.device.empty() && !f.evidence.contains("device")) out += fmt::format("| device | {} |\n", cell(str(f.device)));
  std::vector<std::pair<std::string, const json*>> lists;
  evidence_rows(out, f.evidence, lists);
  out += "\n";
  for (const auto& [key, list] : lists) {
    out += fmt::format("{}:\n\n```\n", str(key));
    for (const auto& item : *list) out += str(item) + "\n";
    out += "```\n\n";
  }
}

void render_devices(std::string& out, const HostSnapshot& s) {
  out += fmt::format("## Devices ({})\n\n", s.devices.size());
  if (s.devices.empty()) {
    out += "No device was traced or named by an event.\n\n";
    return;
  }
  out += "| device | driver | IOMMU | PCIe link | maps / unmaps | outstanding | leaks | IOMMU faults |\n";
  out += "|---|---|---|---|---:|---:|---:|---:|\n";
  for (const DeviceRow* d : devices_in_report_order(s)) {
    const std::string link = pcie_link_text(*d, " **downtrained**");
    out += fmt::format("| {} | {} | {} | {} | {} / {} | {} ({}) | {} | {} |\n", cell(str(d->name)),
                       cell(str(d->driver)), cell(str(d->iommu_mode)), link, d->dma_maps, d->dma_unmaps,
                       d->dma_outstanding, human_bytes(d->dma_outstanding_bytes), d->dma_leaks, d->iommu_faults);
  }
  out += "\n";
}

void render_owners(std::string& out, const HostSnapshot& s) {
  const std::vector<OwnerRow>& procs = s.owners;
  out += fmt::format("## Mapping owners ({})\n\n", procs.size());
  if (!procs.empty()) {
    out += "| process | owner | made | bytes | outstanding | leaks | exited |\n|---|---|---:|---:|---:|---:|---|\n";
    const auto listed = worst_entries(procs, kListedRows, worse_owner);
    for (size_t i : listed) {
      const OwnerRow& p = procs[i];
      out += fmt::format("| {}[{}] | {} | {} | {} | {} | {} | {} |\n", cell(str(p.comm)), p.pid, cell(str(p.owner_kind)),
                         p.mappings_made, human_bytes(p.bytes_mapped), p.outstanding, p.leaks_reported,
                         p.exit_ns ? "yes" : "no");
    }
    if (listed.size() < procs.size())
      out += "\n" + not_listed_note(procs.size() - listed.size(), "owners (fewer leaks and outstanding mappings)") + "\n";
  }
  for (const PendingOwnerRow& p : s.owners_not_judged)
    out += fmt::format("\n- not judged: {}[{}] exited less than the leak grace before the end of the trace with {} "
                       "outstanding mapping(s)\n",
                       str(p.comm), p.pid, p.outstanding);
  out += "\n";
}

void render_gc(std::string& out, const HostSnapshot& s) {
  if (!s.gc_pauses) return;
  const std::vector<GcPauseRow>& procs = *s.gc_pauses;
  out += fmt::format("## GC pauses ({} processes)\n\n", procs.size());
  if (procs.empty()) {
    out += "No managed-runtime process paused for GC while traced.\n\n";
    return;
  }
  out += "| pid | runtime | pauses | total | max | p50 | p99 | wall time |\n|---:|---|---:|---:|---:|---:|---:|---:|\n";
  const auto listed = worst_entries(procs, kListedRows, worse_gc_process);
  for (size_t i : listed) {
    const GcPauseRow& p = procs[i];
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", p.pid, cell(str(p.runtime)), p.pauses,
                       human_duration(p.total_ns), human_duration(p.max_ns), human_duration(p.p50_ns),
                       human_duration(p.p99_ns), human_percent(p.wall_share));
  }
  if (listed.size() < procs.size())
    out += "\n" + not_listed_note(procs.size() - listed.size(), "processes (smaller wall-time share)") + "\n";
  out += "\n";
}

// Dropped data, then records that came late but were still processed.
void render_losses(std::string& out, const std::vector<LossCounter>& losses) {
  out += "## Losses\n\n";
  std::string rows, late;
  size_t counters = 0;
  for (const LossCounter& l : losses) {
    const bool is_late = counts_late_records(l.name);
    counters += !is_late;
    if (l.count) (is_late ? late : rows) += fmt::format("| {} | {} | {} |\n", cell(str(l.name)), l.count, cell(l.source));
  }
  if (rows.empty())
    out += fmt::format("Nothing was lost: all {} loss counters are zero.\n\n", counters);
  else
    out += "| counter | count | source |\n|---|---:|---|\n" + rows + "\n";
  if (!late.empty())
    out += "Late, still processed (arrived after the reorder window; nothing lost, a finding may be judged late):\n\n"
           "| counter | count | source |\n|---|---:|---|\n" + late + "\n";
}

}  // namespace

std::vector<std::string> report_narrative(const HostSnapshot& s) {
  std::vector<std::string> out;
  auto severity = [&](const char* name) {
    auto it = s.findings_by_severity.find(name);
    return it == s.findings_by_severity.end() ? uint64_t{0} : it->second;
  };
  const double seconds = s.taken_ns > s.first_ns ? double(s.taken_ns - s.first_ns) / 1e9 : 0.0;
  out.push_back(fmt::format("{} records over {:.3f} s from {}{}.", s.records.processed, seconds,
                            s.source.hostname.empty() ? std::string("an unnamed host") : str(s.source.hostname),
                            s.complete ? "" : " (still running)"));
  if (s.findings_total == 0) {
    out.push_back("No findings: no leaked or unmatched DMA mapping, no mapping growth, no IOMMU fault.");
  } else {
    out.push_back(fmt::format("{}: {} critical, {} warning, {} info.", plural(s.findings_total, "finding", "findings"),
                              severity("critical"), severity("warning"), severity("info")));
    // One sentence per kind, worst kind first, naming the devices and processes concerned.
    std::map<std::string, std::pair<std::set<std::string>, std::set<std::string>>> subjects;
    std::vector<std::string> kinds;
    for (const Finding* f : findings_worst_first(s)) {
      const std::string kind(f->kind_name());
      if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
      if (!f->device.empty()) subjects[kind].first.insert(str(f->device));
      if (f->pid) subjects[kind].second.insert(fmt::format("{}[{}]", str(f->comm), f->pid));
    }
    for (const auto& kind : kinds) {
      const auto& [devices, procs] = subjects[kind];
      const auto n = s.findings_by_kind.find(kind);
      std::string sentence = kind_sentence(kind, n == s.findings_by_kind.end() ? 0 : n->second) + " (" + kind + ")";
      if (!devices.empty()) sentence += " on " + join({devices.begin(), devices.end()});
      if (!procs.empty()) sentence += ", involving " + join({procs.begin(), procs.end()});
      out.push_back(sentence + ".");
    }
  }
  if (s.gc_pauses) {
    std::vector<GcPauseRow> procs = *s.gc_pauses;
    std::stable_sort(procs.begin(), procs.end(), worse_gc_process);
    for (size_t i = 0; i < procs.size() && i < 3; ++i) {
      const GcPauseRow& p = procs[i];
      if (p.pauses == 0) continue;
      out.push_back(fmt::format("pid {} ({}) stood still for GC {} of the time: {} pauses, p99 {}, longest {}.", p.pid,
                                str(p.runtime), human_percent(p.wall_share), p.pauses, human_duration(p.p99_ns),
                                human_duration(p.max_ns)));
    }
  }
  uint64_t lost = 0;
  std::vector<std::string> lost_names, late_names;
  for (const LossCounter& l : s.losses)
    if (l.count) {
      const std::string name = str(l.name);
      if (counts_late_records(name)) {
        late_names.push_back(fmt::format("{} {}", name, l.count));
        continue;
      }
      lost += l.count;
      lost_names.push_back(fmt::format("{} {}", name, l.count));
    }
  out.push_back(lost == 0 ? "Nothing was lost (every loss counter is zero)."
                          : fmt::format("Some data was lost: {}; counts above may be low.", join(lost_names)));
  if (!late_names.empty())
    out.push_back(fmt::format("Some records arrived after the reorder window and were still processed ({}): nothing "
                              "is missing, a finding may have been judged late.",
                              join(late_names)));
  if (s.source.truncated) out.push_back("The capture was cut short: " + str(s.source.truncation_note));
  return out;
}

std::string render_markdown_report(const HostSnapshot& s) {
  std::string out;
  const SnapshotSource& src = s.source;
  out += fmt::format("# gputrace report: {}\n\n", str(src.hostname.empty() ? src.path : src.hostname));
  out += fmt::format("Source `{}` · kernel {} · gputrace {} · boot {} · {} .. {} ns (times below are since the first)\n\n",
                     str(src.path), str(src.kernel), str(src.version), str(src.boot_id), s.first_ns, s.taken_ns);
  out += "## What happened\n\n";
  for (const auto& sentence : report_narrative(s)) out += "- " + sentence + "\n";
  out += "\n";
  const std::vector<const Finding*> findings = findings_worst_first(s);
  out += fmt::format("## Findings, worst first ({})\n\n", findings.size());
  if (findings.empty()) out += "None.\n\n";
  for (size_t i = 0; i < findings.size() && i < kListedFindings; ++i) render_finding(out, i + 1, *findings[i], s.first_ns);
  if (findings.size() > kListedFindings) out += not_listed_note(findings.size() - kListedFindings, "findings") + "\n\n";
  render_devices(out, s);
  const IommuTotalsRow& io = s.iommu;
  out += fmt::format("IOMMU page tables: {} maps, {} unmaps ({} matched nothing), {} ranges ({}) outstanding.\n\n",
                     io.maps, io.unmaps, io.unmatched_unmaps, io.outstanding_ranges, human_bytes(io.outstanding_bytes));
  render_owners(out, s);
  render_gc(out, s);
  render_losses(out, s.losses);
  out += fmt::format("_{} records processed, {} of them late; schema {}._\n", s.records.processed, s.records.late,
                     kReportSchema);
  return out;
}

}  // namespace gputrace
