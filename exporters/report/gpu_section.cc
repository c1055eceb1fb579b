#include "exporters/report/gpu_section.h"

#include "exporters/report/safe_text.h"

#include <fmt/format.h>

namespace gputrace {
namespace {

// One line per process whose GPU timeline is missing, approximate or incomplete.
std::string library_notes(const GpuProcessRow& p) {
  if (!p.library) return "";
  const GpuLibraryRow& l = *p.library;
  const std::string who = fmt::format("  pid {} ({})", p.pid, safe_text(p.comm));
  std::string out;
  if (l.state == "other_subscriber")
    out += fmt::format("{}: no GPU timeline: CUPTI is held by {}\n", who, safe_text(l.holder));
  else if (l.state == "cupti_failed")
    out += fmt::format("{}: no GPU timeline: CUPTI failed (CUptiResult {})\n", who, l.cupti_result);
  if (l.clock == "calibrated")
    out += fmt::format("{}: GPU times calibrated to CLOCK_MONOTONIC within {:.1f} us\n", who, l.clock_error_ns / 1e3);
  else if (l.clock == "raw")
    out += fmt::format("{}: GPU times on CUPTI's own clock (neither aligned nor calibrated): left out\n", who);
  if (l.dropped_cupti + l.dropped_local > 0)
    out += fmt::format("{}: {} GPU records lost in the process ({} by CUPTI, its buffers full; {} not handed over)\n",
                       who, l.dropped_cupti + l.dropped_local, l.dropped_cupti, l.dropped_local);
  if (l.untimed + l.truncated + l.buffers_cut_short + l.names_overflowed > 0)
    out += fmt::format("{}: the library could not ship {} untimed and {} truncated records; {} buffers cut short; "
                       "{} kernels without a name\n",
                       who, l.untimed, l.truncated, l.buffers_cut_short, l.names_overflowed);
  if (const auto& g = l.guards) {
    const uint64_t limited = g->process_rate_limited + g->thread_rate_limited;
    const uint64_t bad = g->invalid_timestamp + g->non_monotonic;
    if (limited + bad + g->buffers_refused > 0)
      out += fmt::format("{}: the library's guards dropped {} records over its rate limits and {} with impossible "
                         "timestamps, and refused CUPTI {} buffers\n",
                         who, limited, bad, g->buffers_refused);
  }
  if (l.layout_unverified)
    out += fmt::format("{}: its library was built against CUPTI {}, newer than the record layouts gputrace checked: "
                       "GPU records may be misread\n",
                       who, l.headers_version);
  return out;
}

}  // namespace

void render_gpu_section(std::string& out, const GpuSection& gpu) {
  if (gpu.processes.empty()) return;
  out += fmt::format("\nGPU ACTIVITY ({} processes)\n", gpu.processes.size());
  out += fmt::format("  {:>7} {:<16} {:>8} {:>8} {:>12} {:>8} {:>8} {:>12}\n", "pid", "comm", "kernels", "copies",
                     "copied MiB", "GB/s", "stalled", "idle(GC) ms");
  for (const GpuProcessRow& p : gpu.processes)
    out += fmt::format("  {:>7} {:<16} {:>8} {:>8} {:>12} {:>8.2f} {:>8} {:>12.2f}\n", p.pid, safe_text(p.comm),
                       p.kernels, p.memcpys, p.memcpy_bytes >> 20, p.memcpy_gbps, p.stalled_copies,
                       p.idle_gc_ns / 1e6);
  for (const GpuProcessRow& p : gpu.processes) out += library_notes(p);
  const auto& t = gpu.transfers;
  out += fmt::format("  transfers: {} copies, {} judged, {} stalled{}\n", t.copies, t.judged, t.stalled,
                     t.unbound_device ? fmt::format(", {} without a known PCI device", t.unbound_device) : "");
  for (const TransferBaselineRow& b : gpu.baselines)
    out += fmt::format("  baseline {} {} {} {}: {} GB/s over {} copies\n", safe_text(b.device), b.direction,
                       b.size_class, b.host_memory, b.median_gbps, b.samples);
}

}  // namespace gputrace
