// The report as JSON (schema gputrace.report/1, docs/report-schema.md). Key order is fixed
// by construction (ordered_json), lists are in a defined order, so the same input always
// gives the same bytes.
#include "exporters/report/report.h"

#include <fmt/format.h>

#include <algorithm>

namespace gputrace {
namespace {

using json = nlohmann::ordered_json;

json api_json(const DmaApiTotals& t) {
  return {{"maps", t.maps}, {"unmaps", t.unmaps}, {"map_bytes", t.map_bytes}, {"unmap_bytes", t.unmap_bytes}};
}

json latency_json(const LatencyTotals& l) {
  return {{"count", l.count}, {"avg_ns", l.count ? l.total_ns / l.count : 0}, {"max_ns", l.max_ns}};
}

json device_json(const DeviceRow& d) {
  json out = {{"name", d.name},
              {"driver", d.driver},
              {"bus", d.bus},
              {"vendor", fmt::format("0x{:04x}", d.vendor)},
              {"device", fmt::format("0x{:04x}", d.device)},
              {"pci_class", fmt::format("0x{:06x}", d.pci_class)},
              {"traced", d.traced},
              {"iommu_group", d.iommu_group},
              {"iommu_mode", d.iommu_mode},
              {"pcie_link", nullptr}};
  if (d.link_known())
    out["pcie_link"] = {{"speed_mts", d.link_speed_mts}, {"width", d.link_width},
                        {"max_speed_mts", d.max_link_speed_mts}, {"max_width", d.max_link_width},
                        {"downtrained", d.link_downtrained}};
  out["dma_api"] = {{"page", api_json(d.dma_page)}, {"sg", api_json(d.dma_sg)}, {"coherent", api_json(d.dma_coherent)}};
  out["outstanding"] = {{"mappings", d.dma_outstanding}, {"bytes", d.dma_outstanding_bytes}};
  out["unmaps_of_pre_trace_mappings"] = d.unmaps_of_pre_trace_mappings;
  out["unmatched_unmaps"] = d.unmatched_unmaps;
  out["duplicate_maps"] = d.duplicate_maps;
  out["unbinds"] = d.unbinds;
  out["leaks"] = {{"at_unbind", d.leaked_at_unbind}, {"after_owner_exit", d.leaked_after_owner_exit}};
  out["iommu"] = {{"maps", d.iommu_maps},
                  {"unmaps", d.iommu_unmaps},
                  {"map_latency", latency_json(d.iommu_map_latency)},
                  {"unmap_latency", latency_json(d.iommu_unmap_latency)}};
  out["health"] = {{"iommu_faults", d.iommu_faults},   {"swiotlb_bounces", d.swiotlb_bounces},
                   {"swiotlb_bytes", d.swiotlb_bytes}, {"aer_corrected", d.aer_corrected},
                   {"aer_nonfatal", d.aer_nonfatal},   {"aer_fatal", d.aer_fatal}};
  return out;
}

json findings_json(const HostSnapshot& s) {
  json out = json::array();
  for (const Finding* f : findings_worst_first(s))
    out.push_back({{"kind", f->kind_name()}, {"severity", to_string(f->severity)}, {"start_ns", f->start_ns},
                   {"end_ns", f->end_ns}, {"pid", f->pid}, {"comm", f->comm}, {"device", f->device},
                   {"message", f->message}, {"evidence", f->evidence}});
  return out;
}

json summary_json(const HostSnapshot& s) {
  json by_severity = {{"critical", 0}, {"warning", 0}, {"info", 0}};
  for (const auto& [severity, n] : s.findings_by_severity) by_severity[severity] = n;
  return {{"findings", s.findings_total}, {"by_severity", by_severity}, {"by_kind", s.findings_by_kind}};
}

json owners_json(const HostSnapshot& s) {
  json out = json::array();
  for (const OwnerRow& o : s.owners)
    out.push_back({{"pid", o.pid},
                   {"start_ns", o.start_ns},
                   {"comm", o.comm},
                   {"owner_kind", o.owner_kind},
                   {"exe", o.exe},
                   {"ppid", o.ppid},
                   {"cgroup_id", o.cgroup_id},
                   {"exit_ns", o.exit_ns ? json(*o.exit_ns) : json(nullptr)},
                   {"mappings_made", o.mappings_made},
                   {"bytes_mapped", o.bytes_mapped},
                   {"outstanding", {{"mappings", o.outstanding}, {"bytes", o.outstanding_bytes}}},
                   {"leaks_reported", o.leaks_reported},
                   {"other_findings", o.other_findings}});
  return out;
}

json not_judged_json(const HostSnapshot& s) {
  json out = json::array();
  for (const PendingOwnerRow& p : s.owners_not_judged)
    out.push_back({{"pid", p.pid}, {"start_ns", p.start_ns}, {"comm", p.comm}, {"exit_ns", p.exit_ns},
                   {"outstanding", p.outstanding}});
  return out;
}

json config_json(const EngineConfig& cfg) {
  const CorrelationConfig& c = cfg.correlation;
  return {{"reorder_window_ns", cfg.reorder_window_ns},
          {"owner_exit_grace_ns", cfg.owner_exit_grace_ns},
          {"growth",
           {{"sample_period_ns", cfg.growth.sample_period_ns}, {"window_ns", cfg.growth.window_ns},
            {"min_mappings", cfg.growth.min_mappings}, {"min_bytes", cfg.growth.min_bytes}}},
          {"gpu_reorder_window_ns", cfg.gpu_reorder_window_ns},
          {"correlation",
           {{"history_span_ns", c.history_span_ns},       {"stall_fraction", c.stall_fraction},
            {"min_judged_bytes", c.min_judged_bytes},     {"baseline_min_samples", c.baseline_min_samples},
            {"stall_merge_gap_ns", c.stall_merge_gap_ns}, {"storm_unmaps_per_s", c.storm_unmaps_per_s},
            {"storm_min_unmaps", c.storm_min_unmaps},     {"gc_overlap_fraction", c.gc_overlap_fraction},
            {"idle_min_ns", c.idle_min_ns},               {"idle_resume_slack_ns", c.idle_resume_slack_ns},
            {"idle_merge_gap_ns", c.idle_merge_gap_ns}}},
          {"gc",
           {{"pause_long_ns", cfg.gc.pause_long_ns},
            {"share_fraction", cfg.gc.share_fraction},
            {"share_window_ns", cfg.gc.share_window_ns},
            {"full_count", cfg.gc.full_count},
            {"full_window_ns", cfg.gc.full_window_ns}}}};
}

json guards_json(const std::optional<GpuGuardsRow>& g) {
  if (!g) return nullptr;
  return {{"process_rate_limited", g->process_rate_limited},
          {"thread_rate_limited", g->thread_rate_limited},
          {"invalid_timestamp", g->invalid_timestamp},
          {"non_monotonic", g->non_monotonic},
          {"buffers_refused", g->buffers_refused},
          {"process_limit", g->process_limit},
          {"thread_limit", g->thread_limit},
          {"device_buffers", g->device_buffers},
          {"max_buffers", g->max_buffers}};
}

json library_json(const std::optional<GpuLibraryRow>& l) {
  if (!l) return nullptr;
  return {{"state", l->state},
          {"cupti_result", l->cupti_result},
          {"holder", l->holder},
          {"clock", l->clock},
          {"clock_error_ns", l->clock_error_ns},
          {"records", l->records},
          {"dropped_cupti", l->dropped_cupti},
          {"dropped_local", l->dropped_local},
          {"untimed", l->untimed},
          {"truncated", l->truncated},
          {"buffers_cut_short", l->buffers_cut_short},
          {"names_overflowed", l->names_overflowed},
          {"headers_version", l->headers_version},
          {"layout_unverified", l->layout_unverified},
          {"guards", guards_json(l->guards)}};
}

json shedding_json(const SheddingRow& r) {
  const auto reading = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  return {{"level", r.level},
          {"reasons", r.reasons},
          {"shed", r.shed},
          {"since_ns", r.since_ns},
          {"changes", r.changes},
          {"shed_s", r.shed_ns / 1e9},
          {"cpu_busy_pct", reading(r.cpu_busy_pct)},
          {"memory_psi", reading(r.memory_psi)},
          {"memory_available_pct", reading(r.memory_available_pct)}};
}

json gpu_json(const GpuSection& g) {
  json processes = json::array();
  for (const GpuProcessRow& p : g.processes)
    processes.push_back({{"pid", p.pid},
                         {"comm", p.comm},
                         {"kernels", p.kernels},
                         {"kernel_ns", p.kernel_ns},
                         {"memcpys", p.memcpys},
                         {"memcpy_bytes", p.memcpy_bytes},
                         {"memcpy_ns", p.memcpy_ns},
                         {"memcpy_gbps", p.memcpy_gbps},
                         {"memsets", p.memsets},
                         {"stalled_copies", p.stalled_copies},
                         {"idle_gc_ns", p.idle_gc_ns},
                         {"idle_gc_pauses", p.idle_gc_pauses},
                         {"overhead_records", p.overhead_records},
                         {"overhead_ns", p.overhead_ns},
                         {"graph_launches", p.graph_launches},
                         {"library", library_json(p.library)}});
  json baselines = json::array();
  for (const TransferBaselineRow& b : g.baselines)
    baselines.push_back({{"device", b.device}, {"direction", b.direction}, {"size_class", b.size_class},
                         {"host_memory", b.host_memory}, {"samples", b.samples}, {"median_gbps", b.median_gbps}});
  const auto& t = g.transfers;
  const auto& c = g.correlation;
  return {{"processes", processes},
          {"transfers",
           {{"copies", t.copies}, {"judged", t.judged}, {"stalled", t.stalled}, {"unbound_device", t.unbound_device},
            {"shared_link", t.shared_link}}},
          {"baselines", baselines},
          {"correlation",
           {{"activities", c.activities}, {"max_pending", c.max_pending}, {"pending_dropped", c.pending_dropped},
            {"beyond_history", c.beyond_history}, {"open_pause_expired", c.open_pause_expired},
            {"idle_gc_ns", c.idle_gc_ns}}}};
}

json gc_json(const std::vector<GcPauseRow>& rows) {
  json list = json::array();
  for (const GcPauseRow& p : rows) {
    json reasons = json::object();
    for (const auto& [reason, count] : p.non_gc_reasons) reasons[reason] = count;
    list.push_back({{"pid", p.pid},
                    {"ns_pid", p.ns_pid},
                    {"runtime", p.runtime},
                    {"pauses", p.pauses},
                    {"total_ns", p.total_ns},
                    {"max_ns", p.max_ns},
                    {"p50_ns", p.p50_ns},
                    {"p90_ns", p.p90_ns},
                    {"p99_ns", p.p99_ns},
                    {"wall_share", p.wall_share},
                    {"full_collections", p.full_collections},
                    {"go_cycles", p.go_cycles},
                    {"non_gc_pauses", {{"count", p.non_gc_count}, {"total_ns", p.non_gc_total_ns},
                                       {"max_ns", p.non_gc_max_ns}, {"reasons", reasons}}}});
  }
  return list;
}

json losses_json(const HostSnapshot& s) {
  json out = json::array();
  for (const LossCounter& l : s.losses) out.push_back({{"name", l.name}, {"count", l.count}, {"source", l.source}});
  return out;
}

json records_json(const RecordCounts& r) {
  json by_kind = json::object();
  for (const auto& [name, n] : r.by_kind) by_kind[name] = n;
  return {{"processed", r.processed}, {"late", r.late}, {"late_gpu", r.late_gpu}, {"max_held", r.max_held},
          {"by_kind", by_kind}};
}

int severity_rank(Severity s) { return s == Severity::Critical ? 0 : s == Severity::Warning ? 1 : 2; }

}  // namespace

std::vector<const Finding*> findings_worst_first(const HostSnapshot& s) {
  std::vector<const Finding*> sorted;
  for (const auto& f : s.findings) sorted.push_back(&f);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Finding* a, const Finding* b) {
    if (severity_rank(a->severity) != severity_rank(b->severity))
      return severity_rank(a->severity) < severity_rank(b->severity);
    return a->start_ns < b->start_ns;
  });
  return sorted;
}

std::vector<const DeviceRow*> devices_in_report_order(const HostSnapshot& s) {
  std::vector<const DeviceRow*> out;
  for (const DeviceRow& d : s.devices) out.push_back(&d);
  std::sort(out.begin(), out.end(), [](const DeviceRow* a, const DeviceRow* b) { return a->index < b->index; });
  return out;
}

std::string render_report_json(const HostSnapshot& s) {
  json model = {{"schema", kReportSchema}};
  model["source"] = {{"path", s.source.path},
                     {"hostname", s.source.hostname},
                     {"kernel", s.source.kernel},
                     {"boot_id", s.source.boot_id},
                     {"gputrace_version", s.source.version},
                     {"truncated", s.source.truncated},
                     {"truncation_note", s.source.truncation_note}};
  model["time"] = {{"first_ns", s.first_ns}, {"last_ns", s.taken_ns},
                   {"duration_s", s.taken_ns > s.first_ns ? double(s.taken_ns - s.first_ns) / 1e9 : 0.0},
                   {"complete", s.complete}};
  model["config"] = config_json(s.config);
  model["summary"] = summary_json(s);
  model["findings"] = findings_json(s);
  json devices = json::array();
  for (const DeviceRow* d : devices_in_report_order(s)) devices.push_back(device_json(*d));
  model["devices"] = std::move(devices);
  const IommuTotalsRow& io = s.iommu;
  model["iommu"] = {{"maps", io.maps},
                    {"unmaps", io.unmaps},
                    {"map_bytes", io.map_bytes},
                    {"unmap_bytes", io.unmap_bytes},
                    {"unmatched_unmaps", io.unmatched_unmaps},
                    {"overlapping_maps", io.overlapping_maps},
                    {"outstanding_ranges", io.outstanding_ranges},
                    {"outstanding_bytes", io.outstanding_bytes}};
  model["processes"] = owners_json(s);
  model["owners_not_judged"] = not_judged_json(s);
  model["gpu"] = gpu_json(s.gpu);
  model["losses"] = losses_json(s);
  model["records"] = records_json(s.records);
  if (s.gc_pauses) model["gc_pauses"] = gc_json(*s.gc_pauses);
  if (s.shedding) model["shedding"] = shedding_json(*s.shedding);
  // Names and messages are bytes from the kernel, not UTF-8 (a name cut at 15 bytes can end
  // in half a character): strict dumping would throw on them, so invalid bytes become U+FFFD.
  return model.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace gputrace
