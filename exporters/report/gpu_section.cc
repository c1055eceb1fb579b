#include "report/gpu_section.h"

#include "report/safe_text.h"

#include <fmt/format.h>

#include <cmath>

namespace gputrace {
namespace {

using json = nlohmann::ordered_json;

double gbps(uint64_t bytes, uint64_t ns) {
  return ns ? std::round(static_cast<double>(bytes) / static_cast<double>(ns) * 100) / 100 : 0.0;
}

const char* size_class_name(uint8_t c) {
  static const char* const names[] = {"4-16MiB", "16-64MiB", ">=64MiB"};
  return c < 3 ? names[c] : "?";
}

const char* library_state_name(uint32_t state) {
  switch (state) {
    case GT_GPU_STATE_ACTIVE: return "active";
    case GT_GPU_STATE_OTHER_SUBSCRIBER: return "other_subscriber";
    case GT_GPU_STATE_CUPTI_FAILED: return "cupti_failed";
    case GT_GPU_STATE_EXITING: return "exited";
    case GT_GPU_STATE_DETACHED: return "detached";
  }
  return "unknown";
}

const char* clock_mode_name(uint32_t mode) {
  switch (mode) {
    case GT_GPU_CLOCK_MONOTONIC: return "monotonic";
    case GT_GPU_CLOCK_CALIBRATED: return "calibrated";
    case GT_GPU_CLOCK_RAW: return "raw";
  }
  return "unknown";
}

// What the library's guards dropped, and the limits they enforced; null before its first
// GT_EV_GPU_GUARDS record.
json guards_json(const GpuLibraryStatus& l) {
  if (!l.has_guards) return nullptr;
  return {{"process_rate_limited", l.process_rate_limited},
          {"thread_rate_limited", l.thread_rate_limited},
          {"invalid_timestamp", l.invalid_timestamp},
          {"non_monotonic", l.non_monotonic},
          {"buffers_refused", l.buffers_refused},
          {"process_limit", l.process_limit},
          {"thread_limit", l.thread_limit},
          {"device_buffers", l.device_buffers},
          {"max_buffers", l.max_buffers}};
}

json library_json(const std::optional<GpuLibraryStatus>& l) {
  if (!l) return nullptr;
  return {{"state", library_state_name(l->state)},
          {"cupti_result", l->cupti_result},
          {"holder", l->holder},
          {"clock", clock_mode_name(l->clock_mode)},
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
          {"guards", guards_json(*l)}};
}

// One line per process whose GPU timeline is missing, approximate or incomplete.
std::string library_notes(const json& p) {
  const json& l = p["library"];
  if (l.is_null()) return "";
  const std::string who = fmt::format("  pid {} ({})", p["pid"].get<uint64_t>(), safe_text(p["comm"]));
  const std::string state = l["state"].get<std::string>();
  std::string out;
  if (state == "other_subscriber")
    out += fmt::format("{}: no GPU timeline: CUPTI is held by {}\n", who, safe_text(l["holder"]));
  else if (state == "cupti_failed")
    out += fmt::format("{}: no GPU timeline: CUPTI failed (CUptiResult {})\n", who, l["cupti_result"].get<int32_t>());
  const std::string clock = l["clock"].get<std::string>();
  if (clock == "calibrated")
    out += fmt::format("{}: GPU times calibrated to CLOCK_MONOTONIC within {:.1f} us\n", who,
                       l["clock_error_ns"].get<uint64_t>() / 1e3);
  else if (clock == "raw")
    out += fmt::format("{}: GPU times on CUPTI's own clock (neither aligned nor calibrated): left out\n", who);
  const uint64_t dropped_cupti = l["dropped_cupti"].get<uint64_t>(), dropped_local = l["dropped_local"].get<uint64_t>();
  if (dropped_cupti + dropped_local > 0)
    out += fmt::format("{}: {} GPU records lost in the process ({} by CUPTI, its buffers full; {} not handed over)\n",
                       who, dropped_cupti + dropped_local, dropped_cupti, dropped_local);
  const uint64_t untimed = l["untimed"].get<uint64_t>(), truncated = l["truncated"].get<uint64_t>(),
                 cut = l["buffers_cut_short"].get<uint64_t>(), unnamed = l["names_overflowed"].get<uint64_t>();
  if (untimed + truncated + cut + unnamed > 0)
    out += fmt::format("{}: the library could not ship {} untimed and {} truncated records; {} buffers cut short; "
                       "{} kernels without a name\n",
                       who, untimed, truncated, cut, unnamed);
  if (const json& g = l["guards"]; !g.is_null()) {
    const uint64_t limited = g["process_rate_limited"].get<uint64_t>() + g["thread_rate_limited"].get<uint64_t>();
    const uint64_t bad = g["invalid_timestamp"].get<uint64_t>() + g["non_monotonic"].get<uint64_t>();
    const uint64_t refused = g["buffers_refused"].get<uint64_t>();
    if (limited + bad + refused > 0)
      out += fmt::format("{}: the library's guards dropped {} records over its rate limits and {} with impossible "
                         "timestamps, and refused CUPTI {} buffers\n",
                         who, limited, bad, refused);
  }
  if (l["layout_unverified"].get<bool>())
    out += fmt::format("{}: its library was built against CUPTI {}, newer than the record layouts gputrace checked: "
                       "GPU records may be misread\n",
                       who, l["headers_version"].get<uint32_t>());
  return out;
}

}  // namespace

json gpu_section(const Engine& engine) {
  const Correlator& c = engine.correlation();
  json processes = json::array();
  for (const auto& [pid, s] : c.processes()) {
    const ProcessInfo* p = engine.processes().latest(pid);
    processes.push_back({{"pid", pid},
                         {"comm", p ? p->comm : ""},
                         {"kernels", s.kernels},
                         {"kernel_ns", s.kernel_ns},
                         {"memcpys", s.memcpys},
                         {"memcpy_bytes", s.memcpy_bytes},
                         {"memcpy_ns", s.memcpy_ns},
                         {"memcpy_gbps", gbps(s.memcpy_bytes, s.memcpy_ns)},
                         {"memsets", s.memsets},
                         {"stalled_copies", s.stalled_copies},
                         {"idle_gc_ns", s.idle_gc_ns},
                         {"idle_gc_pauses", s.idle_gc_pauses},
                         {"overhead_records", s.overhead_records},
                         {"overhead_ns", s.overhead_ns},
                         {"graph_launches", s.graph_launches},
                         {"library", library_json(s.library)}});
  }
  json baselines = json::array();
  for (const TransferBaseline& b : c.transfers().baselines()) {
    baselines.push_back({{"device", b.device < engine.devices().size() ? engine.devices().at(b.device).name : "unknown"},
                         {"direction", b.to_device ? "HtoD" : "DtoH"},
                         {"size_class", size_class_name(b.size_class)},
                         {"host_memory", b.pageable ? "pageable" : "pinned"},
                         {"samples", b.samples},
                         {"median_gbps", std::round(b.median_bytes_per_s / 1e7) / 100}});
  }
  const TransferStats& t = c.transfers().stats();
  const CorrelationStats& cs = c.stats();
  return {{"processes", processes},
          {"transfers",
           {{"copies", t.copies}, {"judged", t.judged}, {"stalled", t.stalled}, {"unbound_device", t.unbound_device},
            {"shared_link", t.shared_link}}},
          {"baselines", baselines},
          {"correlation",
           {{"activities", cs.activities}, {"max_pending", cs.max_pending}, {"pending_dropped", cs.pending_dropped},
            {"beyond_history", cs.beyond_history}, {"open_pause_expired", cs.open_pause_expired},
            {"idle_gc_ns", c.idle().idle_gc_ns()}}}};
}

void render_gpu_section(std::string& out, const json& gpu) {
  const json& procs = gpu["processes"];
  if (procs.empty()) return;
  out += fmt::format("\nGPU ACTIVITY ({} processes)\n", procs.size());
  out += fmt::format("  {:>7} {:<16} {:>8} {:>8} {:>12} {:>8} {:>8} {:>12}\n", "pid", "comm", "kernels", "copies",
                     "copied MiB", "GB/s", "stalled", "idle(GC) ms");
  for (const auto& p : procs)
    out += fmt::format("  {:>7} {:<16} {:>8} {:>8} {:>12} {:>8.2f} {:>8} {:>12.2f}\n", p["pid"].get<uint64_t>(),
                       safe_text(p["comm"]), p["kernels"].get<uint64_t>(), p["memcpys"].get<uint64_t>(),
                       p["memcpy_bytes"].get<uint64_t>() >> 20, p["memcpy_gbps"].get<double>(),
                       p["stalled_copies"].get<uint64_t>(), p["idle_gc_ns"].get<uint64_t>() / 1e6);
  for (const auto& p : procs) out += library_notes(p);
  const json& t = gpu["transfers"];
  out += fmt::format("  transfers: {} copies, {} judged, {} stalled{}\n", t["copies"].get<uint64_t>(),
                     t["judged"].get<uint64_t>(), t["stalled"].get<uint64_t>(),
                     t["unbound_device"].get<uint64_t>()
                         ? fmt::format(", {} without a known PCI device", t["unbound_device"].get<uint64_t>())
                         : "");
  for (const auto& b : gpu["baselines"])
    out += fmt::format("  baseline {} {} {} {}: {} GB/s over {} copies\n", safe_text(b["device"]),
                       b["direction"].get<std::string>(), b["size_class"].get<std::string>(),
                       b["host_memory"].get<std::string>(), b["median_gbps"].get<double>(), b["samples"].get<uint64_t>());
}

}  // namespace gputrace
