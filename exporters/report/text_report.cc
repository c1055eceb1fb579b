// Renders the report model as text for people: worst findings first with their evidence,
// then devices and their DMA totals, the owners of mappings, and the loss counters.
#include "report/report.h"

#include "report/gpu_section.h"

#include <fmt/format.h>

namespace gputrace {
namespace {

using json = nlohmann::ordered_json;

std::string scalar(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string inline_object(const json& object) {
  std::string out;
  for (const auto& [k, v] : object.items()) out += fmt::format("{}{}={}", out.empty() ? "" : " ", k, scalar(v));
  return out;
}

void render_evidence(std::string& out, const json& evidence) {
  for (const auto& [key, value] : evidence.items()) {
    if (value.is_array() && !value.empty()) {
      out += fmt::format("      {}:\n", key);
      for (const auto& item : value) out += fmt::format("        {}\n", scalar(item));
    } else if (value.is_object()) {
      out += fmt::format("      {}: {}\n", key, inline_object(value));
    } else if (!value.is_array()) {
      out += fmt::format("      {}: {}\n", key, scalar(value));
    }
  }
}

void render_findings(std::string& out, const json& model) {
  const json& s = model["summary"]["by_severity"];
  out += fmt::format("\nFINDINGS: {} ({} critical, {} warning, {} info)\n", model["findings"].size(),
                     s["critical"].get<uint64_t>(), s["warning"].get<uint64_t>(), s["info"].get<uint64_t>());
  if (model["findings"].empty()) out += "  none\n";
  for (const auto& f : model["findings"]) {
    out += fmt::format("  [{}] {}  {}\n", f["severity"].get<std::string>(), f["kind"].get<std::string>(),
                       f["message"].get<std::string>());
    out += fmt::format("      time: {} .. {} ns\n", f["start_ns"].get<uint64_t>(), f["end_ns"].get<uint64_t>());
    render_evidence(out, f["evidence"]);
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
    const std::string driver = d["driver"].get<std::string>();
    out += fmt::format("  {:<14} {:<14} {:<9} {:>15} {:>15} {:>15} {:>20} {:>9} {:>6}\n", d["name"].get<std::string>(),
                       driver.empty() ? "-" : driver, d["iommu_mode"].get<std::string>(),
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
    out += fmt::format("  {}[{}] {:<8} made {} ({} bytes), outstanding {}, leaks {}{}\n", p["comm"].get<std::string>(),
                       p["pid"].get<uint64_t>(), p["owner_kind"].get<std::string>(), p["mappings_made"].get<uint64_t>(),
                       p["bytes_mapped"].get<uint64_t>(), p["outstanding"]["mappings"].get<uint64_t>(),
                       p["leaks_reported"].get<uint64_t>(), p["exit_ns"].is_null() ? "" : ", exited");
  for (const auto& p : model["owners_not_judged"])
    out += fmt::format("  note: {}[{}] exited less than the leak grace before the end of the trace: its {} "
                       "outstanding mapping(s) were not judged\n",
                       p["comm"].get<std::string>(), p["pid"].get<uint64_t>(), p["outstanding"].get<uint64_t>());
}

void render_losses(std::string& out, const json& losses) {
  uint64_t total = 0;
  std::string nonzero;
  for (const auto& l : losses) {
    const uint64_t c = l["count"].get<uint64_t>();
    total += c;
    if (c) nonzero += fmt::format("  {:<40} {:>12}  ({})\n", l["name"].get<std::string>(), c, l["source"].get<std::string>());
  }
  out += fmt::format("\nLOSSES: {}\n", total == 0 ? fmt::format("none ({} counters, all zero)", losses.size()) : "");
  out += nonzero;
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
                       p["pid"].get<int>(), p["runtime"].get<std::string>(), p["pauses"].get<uint64_t>(),
                       p["total_ns"].get<uint64_t>() / 1e6, p["max_ns"].get<uint64_t>() / 1e3,
                       p["p50_ns"].get<uint64_t>() / 1e3, p["p99_ns"].get<uint64_t>() / 1e3,
                       p["wall_share"].get<double>() * 100, p["non_gc_pauses"]["count"].get<uint64_t>());
}

std::string render_text_report(const ReportModel& model) {
  std::string out;
  const json& src = model["source"];
  out += fmt::format("gputrace report ({})  source {}\n", model["schema"].get<std::string>(), src["path"].get<std::string>());
  out += fmt::format("host {}  kernel {}  boot {}  gputrace {}\n", src["hostname"].get<std::string>(),
                     src["kernel"].get<std::string>(), src["boot_id"].get<std::string>(),
                     src["gputrace_version"].get<std::string>());
  const json& time = model["time"];
  out += fmt::format("time {} .. {} ns ({:.3f} s){}\n", time["first_ns"].get<uint64_t>(), time["last_ns"].get<uint64_t>(),
                     time["duration_s"].get<double>(), time["complete"].get<bool>() ? "" : ", still running");
  if (src["truncated"].get<bool>()) out += fmt::format("note: {}\n", src["truncation_note"].get<std::string>());
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
