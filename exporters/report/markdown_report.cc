#include "report/markdown_report.h"

#include "report/device_fields.h"
#include "report/late_records.h"
#include "report/listing.h"
#include "report/safe_text.h"
#include "report/units.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace gputrace {
namespace {

using json = nlohmann::ordered_json;

// Every string from the trace goes through safe_text (no terminal escape, valid UTF-8).
std::string str(const json& v) { return safe_text(v); }

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
std::string kind_sentence(const std::string& kind, uint64_t n) {
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

void render_finding(std::string& out, size_t number, const json& f, uint64_t origin) {
  out += fmt::format("### {}. {} · `{}`\n\n", number, str(f["severity"]), str(f["kind"]));
  out += str(f["message"]) + "\n\n";
  out += "| evidence | value |\n|---|---|\n";
  const uint64_t start = f["start_ns"].get<uint64_t>(), end = f["end_ns"].get<uint64_t>();
  out += fmt::format("| time | {} .. {} ({} .. {} ns) |\n", since(start, origin), since(end, origin), start, end);
  if (f["pid"].get<uint64_t>()) out += fmt::format("| process | {}[{}] |\n", cell(f["comm"]), f["pid"].get<uint64_t>());
  if (!f["device"].get<std::string>().empty() && !f["evidence"].contains("device"))
    out += fmt::format("| device | {} |\n", cell(f["device"]));
  std::vector<std::pair<std::string, const json*>> lists;
  evidence_rows(out, f["evidence"], lists);
  out += "\n";
  for (const auto& [key, list] : lists) {
    out += fmt::format("{}:\n\n```\n", str(key));
    for (const auto& item : *list) out += str(item) + "\n";
    out += "```\n\n";
  }
}

void render_devices(std::string& out, const json& devices) {
  out += fmt::format("## Devices ({})\n\n", devices.size());
  if (devices.empty()) {
    out += "No device was traced or named by an event.\n\n";
    return;
  }
  out += "| device | driver | IOMMU | PCIe link | maps / unmaps | outstanding | leaks | IOMMU faults |\n";
  out += "|---|---|---|---|---:|---:|---:|---:|\n";
  for (const auto& d : devices) {
    const auto [maps, unmaps] = dma_api_totals(d);
    const std::string link = pcie_link_text(d, " **downtrained**");
    out += fmt::format("| {} | {} | {} | {} | {} / {} | {} ({}) | {} | {} |\n", cell(d["name"]), cell(d["driver"]),
                       cell(d["iommu_mode"]), link, maps, unmaps,
                       d["outstanding"]["mappings"].get<uint64_t>(), human_bytes(d["outstanding"]["bytes"].get<uint64_t>()),
                       d["leaks"]["at_unbind"].get<uint64_t>() + d["leaks"]["after_owner_exit"].get<uint64_t>(),
                       d["health"]["iommu_faults"].get<uint64_t>());
  }
  out += "\n";
}

void render_owners(std::string& out, const json& model) {
  const json& procs = model["processes"];
  out += fmt::format("## Mapping owners ({})\n\n", procs.size());
  if (!procs.empty()) {
    out += "| process | owner | made | bytes | outstanding | leaks | exited |\n|---|---|---:|---:|---:|---:|---|\n";
    const auto listed = worst_entries(procs, kListedRows, worse_owner);
    for (size_t i : listed) {
      const json& p = procs[i];
      out += fmt::format("| {}[{}] | {} | {} | {} | {} | {} | {} |\n", cell(p["comm"]), p["pid"].get<uint64_t>(),
                         cell(p["owner_kind"]), p["mappings_made"].get<uint64_t>(),
                         human_bytes(p["bytes_mapped"].get<uint64_t>()), p["outstanding"]["mappings"].get<uint64_t>(),
                         p["leaks_reported"].get<uint64_t>(), p["exit_ns"].is_null() ? "no" : "yes");
    }
    if (listed.size() < procs.size())
      out += "\n" + not_listed_note(procs.size() - listed.size(), "owners (fewer leaks and outstanding mappings)") + "\n";
  }
  for (const auto& p : model["owners_not_judged"])
    out += fmt::format("\n- not judged: {}[{}] exited less than the leak grace before the end of the trace with {} "
                       "outstanding mapping(s)\n",
                       str(p["comm"]), p["pid"].get<uint64_t>(), p["outstanding"].get<uint64_t>());
  out += "\n";
}

void render_gc(std::string& out, const json& model) {
  if (!model.contains("gc_pauses")) return;
  const json& procs = model["gc_pauses"];
  out += fmt::format("## GC pauses ({} processes)\n\n", procs.size());
  if (procs.empty()) {
    out += "No managed-runtime process paused for GC while traced.\n\n";
    return;
  }
  out += "| pid | runtime | pauses | total | max | p50 | p99 | wall time |\n|---:|---|---:|---:|---:|---:|---:|---:|\n";
  const auto listed = worst_entries(procs, kListedRows, worse_gc_process);
  for (size_t i : listed) {
    const json& p = procs[i];
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", p["pid"].get<int>(), cell(p["runtime"]),
                       p["pauses"].get<uint64_t>(), human_duration(p["total_ns"].get<uint64_t>()),
                       human_duration(p["max_ns"].get<uint64_t>()), human_duration(p["p50_ns"].get<uint64_t>()),
                       human_duration(p["p99_ns"].get<uint64_t>()), human_percent(p["wall_share"].get<double>()));
  }
  if (listed.size() < procs.size())
    out += "\n" + not_listed_note(procs.size() - listed.size(), "processes (smaller wall-time share)") + "\n";
  out += "\n";
}

// Dropped data, then records that came late but were still processed.
void render_losses(std::string& out, const json& losses) {
  out += "## Losses\n\n";
  std::string rows, late;
  size_t counters = 0;
  for (const auto& l : losses) {
    const bool is_late = counts_late_records(l["name"].get<std::string>());
    counters += !is_late;
    if (l["count"].get<uint64_t>())
      (is_late ? late : rows) +=
          fmt::format("| {} | {} | {} |\n", cell(l["name"]), l["count"].get<uint64_t>(), cell(l["source"]));
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

std::vector<std::string> report_narrative(const ReportModel& model) {
  std::vector<std::string> out;
  const json& summary = model["summary"];
  const json& sev = summary["by_severity"];
  const uint64_t total = summary["findings"].get<uint64_t>();
  const double seconds = model["time"]["duration_s"].get<double>();
  out.push_back(fmt::format("{} records over {:.3f} s from {}{}.", model["records"]["processed"].get<uint64_t>(), seconds,
                            model["source"]["hostname"].get<std::string>().empty() ? std::string("an unnamed host")
                                                                                   : str(model["source"]["hostname"]),
                            model["time"]["complete"].get<bool>() ? "" : " (still running)"));
  if (total == 0) {
    out.push_back("No findings: no leaked or unmatched DMA mapping, no mapping growth, no IOMMU fault.");
  } else {
    out.push_back(fmt::format("{}: {} critical, {} warning, {} info.", plural(total, "finding", "findings"),
                              sev["critical"].get<uint64_t>(), sev["warning"].get<uint64_t>(), sev["info"].get<uint64_t>()));
    // One sentence per kind, worst kind first, naming the devices and processes concerned.
    std::map<std::string, std::pair<std::set<std::string>, std::set<std::string>>> subjects;
    std::vector<std::string> kinds;
    for (const auto& f : model["findings"]) {
      const std::string kind = str(f["kind"]);
      if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
      if (!f["device"].get<std::string>().empty()) subjects[kind].first.insert(str(f["device"]));
      if (f["pid"].get<uint64_t>()) subjects[kind].second.insert(fmt::format("{}[{}]", str(f["comm"]), f["pid"].get<uint64_t>()));
    }
    for (const auto& kind : kinds) {
      const auto& [devices, procs] = subjects[kind];
      std::string s = kind_sentence(kind, summary["by_kind"].value(kind, uint64_t{0})) + " (" + kind + ")";
      if (!devices.empty()) s += " on " + join({devices.begin(), devices.end()});
      if (!procs.empty()) s += ", involving " + join({procs.begin(), procs.end()});
      out.push_back(s + ".");
    }
  }
  if (model.contains("gc_pauses")) {
    std::vector<json> procs(model["gc_pauses"].begin(), model["gc_pauses"].end());
    std::stable_sort(procs.begin(), procs.end(), [](const json& a, const json& b) {
      return a["wall_share"].get<double>() > b["wall_share"].get<double>();
    });
    for (size_t i = 0; i < procs.size() && i < 3; ++i) {
      const json& p = procs[i];
      if (p["pauses"].get<uint64_t>() == 0) continue;
      out.push_back(fmt::format("pid {} ({}) stood still for GC {} of the time: {} pauses, p99 {}, longest {}.",
                                p["pid"].get<int>(), str(p["runtime"]),
                                human_percent(p["wall_share"].get<double>()), p["pauses"].get<uint64_t>(),
                                human_duration(p["p99_ns"].get<uint64_t>()), human_duration(p["max_ns"].get<uint64_t>())));
    }
  }
  uint64_t lost = 0;
  std::vector<std::string> lost_names, late_names;
  for (const auto& l : model["losses"])
    if (const uint64_t c = l["count"].get<uint64_t>()) {
      const std::string name = str(l["name"]);
      if (counts_late_records(name)) {
        late_names.push_back(fmt::format("{} {}", name, c));
        continue;
      }
      lost += c;
      lost_names.push_back(fmt::format("{} {}", name, c));
    }
  out.push_back(lost == 0 ? "Nothing was lost (every loss counter is zero)."
                          : fmt::format("Some data was lost: {}; counts above may be low.", join(lost_names)));
  if (!late_names.empty())
    out.push_back(fmt::format("Some records arrived after the reorder window and were still processed ({}): nothing "
                              "is missing, a finding may have been judged late.",
                              join(late_names)));
  if (model["source"]["truncated"].get<bool>())
    out.push_back("The capture was cut short: " + str(model["source"]["truncation_note"]));
  return out;
}

std::string render_markdown_report(const ReportModel& model) {
  std::string out;
  const json& src = model["source"];
  out += fmt::format("# gputrace report: {}\n\n", str(src["hostname"].get<std::string>().empty() ? src["path"] : src["hostname"]));
  out += fmt::format("Source `{}` · kernel {} · gputrace {} · boot {} · {} .. {} ns (times below are since the first)\n\n",
                     str(src["path"]), str(src["kernel"]), str(src["gputrace_version"]), str(src["boot_id"]),
                     model["time"]["first_ns"].get<uint64_t>(), model["time"]["last_ns"].get<uint64_t>());
  out += "## What happened\n\n";
  for (const auto& s : report_narrative(model)) out += "- " + s + "\n";
  out += "\n";
  const json& findings = model["findings"];
  out += fmt::format("## Findings, worst first ({})\n\n", findings.size());
  if (findings.empty()) out += "None.\n\n";
  const uint64_t origin = model["time"]["first_ns"].get<uint64_t>();
  for (size_t i = 0; i < findings.size() && i < kListedFindings; ++i) render_finding(out, i + 1, findings[i], origin);
  if (findings.size() > kListedFindings) out += not_listed_note(findings.size() - kListedFindings, "findings") + "\n\n";
  render_devices(out, model["devices"]);
  const json& io = model["iommu"];
  out += fmt::format("IOMMU page tables: {} maps, {} unmaps ({} matched nothing), {} ranges ({}) outstanding.\n\n",
                     io["maps"].get<uint64_t>(), io["unmaps"].get<uint64_t>(), io["unmatched_unmaps"].get<uint64_t>(),
                     io["outstanding_ranges"].get<uint64_t>(), human_bytes(io["outstanding_bytes"].get<uint64_t>()));
  render_owners(out, model);
  render_gc(out, model);
  render_losses(out, model["losses"]);
  out += fmt::format("_{} records processed, {} of them late; schema {}._\n", model["records"]["processed"].get<uint64_t>(),
                     model["records"]["late"].get<uint64_t>(), str(model["schema"]));
  return out;
}

}  // namespace gputrace
