// Builds the report's JSON model (schema gputrace.report/1, docs/report-schema.md) from the
// engine's state. Key order is fixed by construction (ordered_json), lists are in a defined
// order, so the same input always gives the same bytes.
#include "report/report.h"

#include "decode/kinds.h"
#include "engine/losses.h"
#include "report/gpu_section.h"

#include <fmt/format.h>

#include <algorithm>

namespace gputrace {
namespace {

using json = nlohmann::ordered_json;

json api_totals(const DeviceDmaStats& s) {
  json out = json::object();
  static constexpr const char* kNames[] = {"page", "sg", "coherent"};
  for (size_t i = 0; i < 3; ++i) {
    const ApiTotals& t = s.by_api[i];
    out[kNames[i]] = {{"maps", t.maps}, {"unmaps", t.unmaps}, {"map_bytes", t.map_bytes},
                      {"unmap_bytes", t.unmap_bytes}};
  }
  return out;
}

json latency_json(const LatencyStats& l) {
  return {{"count", l.count}, {"avg_ns", l.count ? l.total_ns / l.count : 0}, {"max_ns", l.max_ns}};
}

json device_identity(const Engine& engine, uint32_t index) {
  const DeviceInfo& d = engine.devices().at(index);
  json out = {{"name", d.name},
              {"driver", d.driver},
              {"bus", d.bus},
              {"vendor", fmt::format("0x{:04x}", d.vendor)},
              {"device", fmt::format("0x{:04x}", d.device)},
              {"pci_class", fmt::format("0x{:06x}", d.pci_class)},
              {"traced", d.traced},
              {"iommu_group", d.facts.iommu_group},
              {"iommu_mode", engine.devices().iommu_mode(index)},
              {"pcie_link", nullptr}};
  if (d.facts.max_link_speed_mts)
    out["pcie_link"] = {{"speed_mts", d.facts.link_speed_mts}, {"width", d.facts.link_width},
                        {"max_speed_mts", d.facts.max_link_speed_mts}, {"max_width", d.facts.max_link_width},
                        {"downtrained", d.facts.link_speed_mts < d.facts.max_link_speed_mts ||
                                            d.facts.link_width < d.facts.max_link_width}};
  return out;
}

json device_json(const Engine& engine, uint32_t index) {
  json out = device_identity(engine, index);
  const DeviceDmaStats s = engine.mappings().device_stats(index) ? *engine.mappings().device_stats(index) : DeviceDmaStats{};
  out["dma_api"] = api_totals(s);
  out["outstanding"] = {{"mappings", s.outstanding}, {"bytes", s.outstanding_bytes}};
  out["unmaps_of_pre_trace_mappings"] = s.unmaps_of_pre_trace_mappings;
  out["unmatched_unmaps"] = s.unmatched_unmaps;
  out["duplicate_maps"] = s.duplicate_maps;
  out["unbinds"] = s.unbinds;
  out["leaks"] = {{"at_unbind", s.leaked_at_unbind}, {"after_owner_exit", s.leaked_after_owner_exit}};
  const IommuDeviceCounts io = engine.iommu().device_counts(index);
  const DeviceHealthCounts h = engine.health().counts(index);
  out["iommu"] = {{"maps", io.maps},
                  {"unmaps", io.unmaps},
                  {"map_latency", latency_json(h.iommu_map_latency)},
                  {"unmap_latency", latency_json(h.iommu_unmap_latency)}};
  out["health"] = {{"iommu_faults", h.iommu_faults},   {"swiotlb_bounces", h.swiotlb_bounces},
                   {"swiotlb_bytes", h.swiotlb_bytes}, {"aer_corrected", h.aer_corrected},
                   {"aer_nonfatal", h.aer_nonfatal},   {"aer_fatal", h.aer_fatal}};
  return out;
}

int severity_rank(Severity s) { return s == Severity::Critical ? 0 : s == Severity::Warning ? 1 : 2; }

json findings_json(const Engine& engine) {
  std::vector<const Finding*> sorted;
  for (const auto& f : engine.findings()) sorted.push_back(&f);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Finding* a, const Finding* b) {
    if (severity_rank(a->severity) != severity_rank(b->severity))
      return severity_rank(a->severity) < severity_rank(b->severity);
    return a->start_ns < b->start_ns;
  });
  json out = json::array();
  for (const Finding* f : sorted)
    out.push_back({{"kind", f->kind_name()}, {"severity", to_string(f->severity)}, {"start_ns", f->start_ns},
                   {"end_ns", f->end_ns}, {"pid", f->pid}, {"comm", f->comm}, {"device", f->device},
                   {"message", f->message}, {"evidence", f->evidence}});
  return out;
}

json summary_json(const Engine& engine) {
  json by_severity = {{"critical", 0}, {"warning", 0}, {"info", 0}};
  std::map<std::string, uint64_t> by_kind;
  for (const auto& f : engine.findings()) {
    by_severity[to_string(f.severity)] = by_severity[to_string(f.severity)].get<uint64_t>() + 1;
    ++by_kind[std::string(f.kind_name())];
  }
  return {{"findings", engine.findings().size()}, {"by_severity", by_severity}, {"by_kind", by_kind}};
}

// Every owner of mappings, with its process's details where the table has them.
json processes_json(const Engine& engine) {
  json out = json::array();
  for (const Owner& o : engine.mappings().owners().all()) {
    const ProcessInfo* p = engine.processes().find(o.process);
    // An owner made before the process table described its process has start_ns 0 and
    // matches no key: the pid's latest process is the one that made it.
    if (!p && o.process.start_ns == 0 && o.process.pid != 0) p = engine.processes().latest(o.process.pid);
    out.push_back({{"pid", o.process.pid},
                   {"start_ns", o.process.start_ns},
                   {"comm", o.comm},
                   {"owner_kind", to_string(o.kind)},
                   {"exe", p ? p->exe : ""},
                   {"ppid", p ? p->ppid : 0},
                   {"cgroup_id", p ? p->cgroup_id : 0},
                   {"exit_ns", p && p->exited ? json(p->exit_ns) : json(nullptr)},
                   {"mappings_made", o.mappings_made},
                   {"bytes_mapped", o.bytes_mapped},
                   {"outstanding", {{"mappings", o.outstanding}, {"bytes", o.outstanding_bytes}}},
                   {"leaks_reported", o.leaks_reported},
                   {"other_findings", o.other_findings}});
  }
  return out;
}

json loss(const std::string& name, uint64_t count, const char* source) {
  return {{"name", name}, {"count", count}, {"source", source}};
}

json losses_json(const Engine& engine, const ReportHeader& header) {
  json out = json::array();
  for (const LossCounter& l : engine_losses(engine)) out.push_back(loss(l.name, l.count, l.source));
  std::map<std::string, uint64_t> input = header.input_losses;
  input.try_emplace(std::string(loss_name(Loss::decode_errors)), 0);
  for (const auto& [name, value] : input) out.push_back(loss(name, value, "input"));
  return out;
}

json not_judged_json(const Engine& engine) {
  json out = json::array();
  for (const PendingExit& p : engine.mappings().not_judged()) {
    uint64_t outstanding = 0;
    for (uint32_t id : p.owners) outstanding += engine.mappings().owners().at(id).outstanding;
    out.push_back({{"pid", p.process.pid}, {"start_ns", p.process.start_ns}, {"comm", p.comm},
                   {"exit_ns", p.exit_ns}, {"outstanding", outstanding}});
  }
  return out;
}

json correlation_config_json(const CorrelationConfig& c) {
  return {{"history_span_ns", c.history_span_ns},       {"stall_fraction", c.stall_fraction},
          {"min_judged_bytes", c.min_judged_bytes},     {"baseline_min_samples", c.baseline_min_samples},
          {"stall_merge_gap_ns", c.stall_merge_gap_ns}, {"storm_unmaps_per_s", c.storm_unmaps_per_s},
          {"storm_min_unmaps", c.storm_min_unmaps},     {"gc_overlap_fraction", c.gc_overlap_fraction},
          {"idle_min_ns", c.idle_min_ns},               {"idle_resume_slack_ns", c.idle_resume_slack_ns},
          {"idle_merge_gap_ns", c.idle_merge_gap_ns}};
}

json records_json(const EngineStats& st) {
  json by_kind = json::object();
  for (size_t k = 0; k < st.records_by_kind.size(); ++k)
    if (st.records_by_kind[k]) {
      const std::string_view name = kind_info(static_cast<uint16_t>(k)).name;
      by_kind[name.empty() ? fmt::format("kind_{}", k) : std::string(name)] = st.records_by_kind[k];
    }
  return {{"processed", st.records_processed}, {"late", st.late_records}, {"late_gpu", st.late_gpu_records},
          {"max_held", st.max_held_records},
          {"by_kind", by_kind}};
}

}  // namespace

ReportHeader report_header_from_capture(const CaptureHostInfo& host, const std::string& path,
                                        const CaptureReadSummary& summary) {
  return ReportHeader{path, host, summary.truncated, summary.truncation_note, {}};
}

ReportHeader report_header_live(const CaptureHostInfo& host) { return ReportHeader{"live", host, false, {}, {}}; }

ReportModel build_report_model(const Engine& engine, const ReportHeader& header) {
  const EngineStats& st = engine.stats();
  const EngineConfig& cfg = engine.config();
  json model = {{"schema", "gputrace.report/1"}};
  model["source"] = {{"path", header.source},
                     {"hostname", header.host.hostname},
                     {"kernel", header.host.kernel_release},
                     {"boot_id", header.host.boot_id},
                     {"gputrace_version", header.host.gputrace_version},
                     {"truncated", header.truncated},
                     {"truncation_note", header.truncation_note}};
  model["time"] = {{"first_ns", st.first_ts}, {"last_ns", st.last_ts},
                   {"duration_s", st.last_ts > st.first_ts ? double(st.last_ts - st.first_ts) / 1e9 : 0.0},
                   {"complete", engine.finished()}};
  model["config"] = {{"reorder_window_ns", cfg.reorder_window_ns},
                     {"owner_exit_grace_ns", cfg.owner_exit_grace_ns},
                     {"growth",
                      {{"sample_period_ns", cfg.growth.sample_period_ns}, {"window_ns", cfg.growth.window_ns},
                       {"min_mappings", cfg.growth.min_mappings}, {"min_bytes", cfg.growth.min_bytes}}},
                     {"gpu_reorder_window_ns", cfg.gpu_reorder_window_ns},
                     {"correlation", correlation_config_json(cfg.correlation)}};
  model["summary"] = summary_json(engine);
  model["findings"] = findings_json(engine);
  json devices = json::array();
  for (uint32_t i = 0; i < engine.devices().size(); ++i)
    if (engine.device_listed(i)) devices.push_back(device_json(engine, i));
  model["devices"] = std::move(devices);
  const IommuTotals& io = engine.iommu().totals();
  model["iommu"] = {{"maps", io.maps},
                    {"unmaps", io.unmaps},
                    {"map_bytes", io.map_bytes},
                    {"unmap_bytes", io.unmap_bytes},
                    {"unmatched_unmaps", io.unmatched_unmaps},
                    {"overlapping_maps", io.overlapping_maps},
                    {"outstanding_ranges", engine.iommu().outstanding_ranges()},
                    {"outstanding_bytes", io.outstanding_bytes}};
  model["processes"] = processes_json(engine);
  model["owners_not_judged"] = not_judged_json(engine);
  model["gpu"] = gpu_section(engine);
  model["losses"] = losses_json(engine, header);
  model["records"] = records_json(st);
  return model;
}

// Names and messages are bytes from the kernel, not UTF-8 (a name cut at 15 bytes can end in
// half a character): strict dumping would throw on them, so invalid bytes become U+FFFD.
std::string dump_report_json(const ReportModel& model) {
  return model.dump(2, ' ', false, ReportModel::error_handler_t::replace) + "\n";
}

void write_report(const ReportModel& model, ReportFormat format, std::ostream& out) {
  if (format == ReportFormat::Json)
    out << dump_report_json(model);
  else
    out << render_text_report(model);
}

std::string render_report(const Engine& engine, const ReportHeader& header, ReportFormat format) {
  const ReportModel model = build_report_model(engine, header);
  if (format == ReportFormat::Json) return dump_report_json(model);
  return render_text_report(model);
}

}  // namespace gputrace
