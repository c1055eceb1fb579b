// Renders the report model as text for people: worst findings first with their evidence,
// then devices and their DMA totals, the owners of mappings, and the loss counters. It goes
// to a terminal: every string from the trace passes through safe_text.
#include "report/report.h"

#include "report/gpu_section.h"
#include "report/late_records.h"
#include "report/safe_text.h"

#include <fmt/format.h>

namespace gputrace {
namespace {

using json = nlohmann::ordered_json;

std::string inline_object(const json& object) {
  std::string out;
  for (const auto& [k, v] : object.items()) out += fmt::format("{}{}={}", out.empty() ? "" : " ", safe_text(k), safe_text(v));
  return out;
}

// The evidence's "device" is left out where the line naming the finding's subject says it.
void render_evidence(std::string& out, const json& evidence, const json& subject_device) {
  for (const auto& [key, value] : evidence.items()) {
    if (key == "device" && value == subject_device) continue;
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
std::string subject(const json& f) {
  std::string out;
  if (f["pid"].get<uint64_t>()) out += fmt::format("process: {}[{}]", safe_text(f["comm"]), f["pid"].get<uint64_t>());
  if (!f["device"].get<std::string>().empty()) out += fmt::format("{}device: {}", out.empty() ? "" : "  ", safe_text(f["device"]));
  return out;
}

void render_findings(std::string& out, const json& model) {
  const json& s = model["summary"]["by_severity"];
  const uint64_t origin = model["time"]["first_ns"].get<uint64_t>();
  out += fmt::format("\nFINDINGS: {} ({} critical, {} warning, {} info)\n", model["findings"].size(),
                     s["critical"].get<uint64_t>(), s["warning"].get<uint64_t>(), s["info"].get<uint64_t>());
  if (model["findings"].empty()) out += "  none\n";
  for (const auto& f : model["findings"]) {
    out += fmt::format("  [{}] {}  {}\n", safe_text(f["severity"]), safe_text(f["kind"]), safe_text(f["message"]));
    if (const std::string who = subject(f); !who.empty()) out += "      " + who + "\n";
    const uint64_t start = f["start_ns"].get<uint64_t>(), end = f["end_ns"].get<uint64_t>();
    out += fmt::format("      time: {} .. {} ({} .. {} ns)\n", since(start, origin), since(end, origin), start, end);
    render_evidence(out, f["evidence"], f["device"]);
  }
}

uint64_t count(const json& device, const char* api, const char* key) {
  return device["dma_api"][api][key].get<uint64_t>();
}

void render_devices(std::string& out, const json& devices) {
  out += fmt::format("\nDEVICES ({})\n", devices.size());
  out += fmt::format("  {:<14} {:<14} {:<9} {:>15} {:>15} {:>15} {:>20} {:>9} {:>6}\n", "device", "driver", "iommu",
                     "page map/unmap", "sg map/unmap", "coh alloc/free", "outstanding (bytes)", "pre-trace", "faults");
  for (const auto& d : devices) {
    const std::string driver = safe_text(d["driver"]);
    out += fmt::format("  {:<14} {:<14} {:<9} {:>15} {:>15} {:>15} {:>20} {:>9} {:>6}\n", safe_text(d["name"]),
                       driver.empty() ? "-" : driver, safe_text(d["iommu_mode"]),
                       fmt::format("{}/{}", count(d, "page", "maps"), count(d, "page", "unmaps")),
                       fmt::format("{}/{}", count(d, "sg", "maps"), count(d, "sg", "unmaps")),
                       fmt::format("{}/{}", count(d, "coherent", "maps"), count(d, "coherent", "unmaps")),
                       fmt::format("{} ({})", d["outstanding"]["mappings"].get<uint64_t>(),
                                   d["outstanding"]["bytes"].get<uint64_t>()),
                       d["unmaps_of_pre_trace_mappings"].get<uint64_t>(), d["health"]["iommu_faults"].get<uint64_t>());
    const json& link = d["pcie_link"];
    if (!link.is_null() && link["downtrained"].get<bool>())
      out += fmt::format("    link downtrained: {} MT/s x{} of {} MT/s x{}\n", link["speed_mts"].get<uint64_t>(),
                         link["width"].get<uint64_t>(), link["max_speed_mts"].get<uint64_t>(),
                         link["max_width"].get<uint64_t>());
  }
}

void render_processes(std::string& out, const json& model) {
  out += fmt::format("\nMAPPING OWNERS ({})\n", model["processes"].size());
  for (const auto& p : model["processes"])
    out += fmt::format("  {}[{}] {:<8} made {} ({} bytes), outstanding {}, leaks {}{}\n", safe_text(p["comm"]),
                       p["pid"].get<uint64_t>(), safe_text(p["owner_kind"]), p["mappings_made"].get<uint64_t>(),
                       p["bytes_mapped"].get<uint64_t>(), p["outstanding"]["mappings"].get<uint64_t>(),
                       p["leaks_reported"].get<uint64_t>(), p["exit_ns"].is_null() ? "" : ", exited");
  for (const auto& p : model["owners_not_judged"])
    out += fmt::format("  note: {}[{}] exited less than the leak grace before the end of the trace: its {} "
                       "outstanding mapping(s) were not judged\n",
                       safe_text(p["comm"]), p["pid"].get<uint64_t>(), p["outstanding"].get<uint64_t>());
}

// Dropped data first; records that came late but were still processed apart, after it.
void render_losses(std::string& out, const json& losses) {
  uint64_t total = 0;
  size_t counters = 0;
  std::string nonzero, late;
  for (const auto& l : losses) {
    const uint64_t c = l["count"].get<uint64_t>();
    const std::string name = safe_text(l["name"]);
    const std::string row = fmt::format("  {:<40} {:>12}  ({})\n", name, c, safe_text(l["source"]));
    if (counts_late_records(name)) {
      if (c) late += row;
      continue;
    }
    ++counters;
    total += c;
    if (c) nonzero += row;
  }
  out += fmt::format("\nLOSSES: {}\n", total == 0 ? fmt::format("none ({} counters, all zero)", counters) : "");
  out += nonzero;
  if (!late.empty()) out += "  late, still processed (after the reorder window; nothing lost):\n" + late;
}

}  // namespace

static void render_gc_pauses(std::string& out, const json& model) {
  if (!model.contains("gc_pauses")) return;
  const json& procs = model["gc_pauses"];
  out += fmt::format("\nGC PAUSES ({} processes)\n", procs.size());
  if (procs.empty()) return;
  out += fmt::format("  {:>7} {:<8} {:>7} {:>11} {:>10} {:>10} {:>10} {:>7} {:>7}\n", "pid", "runtime", "pauses", "total ms",
                     "max us", "p50 us", "p99 us", "wall %", "non-gc");
  for (const auto& p : procs)
    out += fmt::format("  {:>7} {:<8} {:>7} {:>11.3f} {:>10.1f} {:>10.1f} {:>10.1f} {:>7.2f} {:>7}\n",
                       p["pid"].get<int>(), safe_text(p["runtime"]), p["pauses"].get<uint64_t>(),
                       p["total_ns"].get<uint64_t>() / 1e6, p["max_ns"].get<uint64_t>() / 1e3,
                       p["p50_ns"].get<uint64_t>() / 1e3, p["p99_ns"].get<uint64_t>() / 1e3,
                       p["wall_share"].get<double>() * 100, p["non_gc_pauses"]["count"].get<uint64_t>());
}

std::string render_text_report(const ReportModel& model) {
  std::string out;
  const json& src = model["source"];
  out += fmt::format("gputrace report ({})  source {}\n", safe_text(model["schema"]), safe_text(src["path"]));
  out += fmt::format("host {}  kernel {}  boot {}  gputrace {}\n", safe_text(src["hostname"]), safe_text(src["kernel"]),
                     safe_text(src["boot_id"]), safe_text(src["gputrace_version"]));
  const json& time = model["time"];
  out += fmt::format("time {} .. {} ns ({:.3f} s){}\n", time["first_ns"].get<uint64_t>(), time["last_ns"].get<uint64_t>(),
                     time["duration_s"].get<double>(), time["complete"].get<bool>() ? "" : ", still running");
  if (src["truncated"].get<bool>()) out += fmt::format("note: {}\n", safe_text(src["truncation_note"]));
  render_findings(out, model);
  render_devices(out, model["devices"]);
  const json& io = model["iommu"];
  out += fmt::format("\nIOMMU page tables: {} maps, {} unmaps ({} matched nothing), {} ranges ({} bytes) outstanding\n",
                     io["maps"].get<uint64_t>(), io["unmaps"].get<uint64_t>(), io["unmatched_unmaps"].get<uint64_t>(),
                     io["outstanding_ranges"].get<uint64_t>(), io["outstanding_bytes"].get<uint64_t>());
  render_processes(out, model);
  render_gc_pauses(out, model);
  if (model.contains("gpu")) render_gpu_section(out, model["gpu"]);
  render_losses(out, model["losses"]);
  out += fmt::format("\nrecords: {} processed, {} late\n", model["records"]["processed"].get<uint64_t>(),
                     model["records"]["late"].get<uint64_t>());
  return out;
}

}  // namespace gputrace
