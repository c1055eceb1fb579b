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
                         {"idle_gc_pauses", s.idle_gc_pauses}});
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
