#include "correlate/transfers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace gputrace {
namespace {

constexpr uint32_t kUnbound = UINT32_MAX;

double gbps(double bytes_per_s) { return std::round(bytes_per_s / 1e7) / 100; }  // GB/s, 2 decimals
double ms(uint64_t ns) { return std::round(static_cast<double>(ns) / 1e4) / 100; }  // ms, 2 decimals

bool host_to_device(const GpuActivity& c) { return c.copy_kind == GT_GPU_COPY_HTOD; }
bool crosses_pcie(const GpuActivity& c) { return c.copy_kind == GT_GPU_COPY_HTOD || c.copy_kind == GT_GPU_COPY_DTOH; }
bool pageable(const GpuActivity& c) {
  return (host_to_device(c) ? c.src_kind : c.dst_kind) == kCuptiMemoryPageable;
}

}  // namespace

double pcie_bytes_per_s(uint32_t speed_mts, uint32_t width) {
  const double encoding = speed_mts <= 5000 ? 8.0 / 10 : speed_mts <= 32000 ? 128.0 / 130 : 242.0 / 256;
  return static_cast<double>(speed_mts) * 1e6 * width * encoding / 8;
}

double TransferAnalyzer::Samples::median() const {
  const size_t n = std::min<uint64_t>(count, ring.size());
  std::array<double, 64> sorted = ring;
  std::nth_element(sorted.begin(), sorted.begin() + n / 2, sorted.begin() + n);
  return sorted[n / 2];
}

void TransferAnalyzer::on_memcpy(const GpuActivity& copy, const GpuBinding& binding, GpuProcessStats& stats) {
  ++stats_.copies;
  ++stats.memcpys;
  stats.memcpy_bytes += copy.bytes;
  stats.memcpy_ns += copy.duration_ns();
  if (!crosses_pcie(copy) || copy.bytes < config_.min_judged_bytes) return;
  ++stats_.judged;
  if (!binding.device) ++stats_.unbound_device;
  const uint32_t device = binding.device.value_or(kUnbound);
  const auto size_class = static_cast<uint8_t>(copy.bytes < 4 * config_.min_judged_bytes    ? 0
                                               : copy.bytes < 16 * config_.min_judged_bytes ? 1
                                                                                            : 2);
  const BaselineKey key{device, host_to_device(copy), size_class, pageable(copy)};
  const Judgement j = judge(copy, binding.device, key);
  if (binding.device) bandwidth_[{*binding.device, host_to_device(copy)}].add(j.bytes_per_s);
  Samples& s = baselines_[key];
  s.ring[s.count++ % s.ring.size()] = j.bytes_per_s;
  if (!j.stalled) return;
  ++stats_.stalled;
  ++stats.stalled_copies;
  add_to_group(copy, device, binding.assumed, j, causes_of(copy, binding.device, j));
}

TransferAnalyzer::Judgement TransferAnalyzer::judge(const GpuActivity& copy, std::optional<uint32_t> device,
                                                    const BaselineKey& key) const {
  Judgement j;
  j.bytes_per_s = static_cast<double>(copy.bytes) * 1e9 / static_cast<double>(copy.duration_ns());
  if (device) {
    const DeviceFacts& f = devices_.at(*device).facts;
    if (f.known && f.link_speed_mts && f.link_width) {
      j.link_now_bytes_per_s = pcie_bytes_per_s(f.link_speed_mts, f.link_width);
      j.link_max_bytes_per_s = f.max_link_speed_mts && f.max_link_width
                                   ? pcie_bytes_per_s(f.max_link_speed_mts, f.max_link_width)
                                   : j.link_now_bytes_per_s;
    }
  }
  const double limit = config_.stall_fraction;
  if (auto it = baselines_.find(key); it != baselines_.end() && it->second.count >= config_.baseline_min_samples) {
    const double median = it->second.median();
    // A baseline learned on a sick device (already far below the link) says nothing.
    if (j.link_max_bytes_per_s == 0 || median >= limit * j.link_max_bytes_per_s) j.baseline_bytes_per_s = median;
  }
  const bool below_baseline = j.baseline_bytes_per_s > 0 && j.bytes_per_s < limit * j.baseline_bytes_per_s;
  if (j.link_max_bytes_per_s > 0) {
    j.stalled = j.bytes_per_s < limit * j.link_max_bytes_per_s && (j.baseline_bytes_per_s == 0 || below_baseline);
  } else {
    j.stalled = below_baseline;
  }
  return j;
}

// Every condition that overlaps the copy, most specific first: transient events on the
// device or the host, then the issuing process's GC, then standing conditions.
std::vector<TransferAnalyzer::Cause> TransferAnalyzer::causes_of(const GpuActivity& copy,
                                                                 std::optional<uint32_t> device,
                                                                 const Judgement& j) const {
  using json = nlohmann::ordered_json;
  std::vector<Cause> out;
  const uint64_t a = copy.start_ns, b = copy.end_ns, dur = copy.duration_ns();

  if (device) {
    const std::string& name = devices_.at(*device).name;
    uint64_t faults = 0, aer = 0, bounces = 0, bounce_bytes = 0;
    uint64_t first_fault_iova = 0;
    const auto& kept = health_.kept_events();
    auto it = std::lower_bound(kept.begin(), kept.end(), a, [](const HealthEvent& e, uint64_t t) { return e.ts < t; });
    for (; it != kept.end() && it->ts <= b; ++it) {
      if (it->device != *device) continue;
      switch (it->kind) {
        case HealthEventKind::IommuFault:
          if (!faults++) first_fault_iova = it->addr;
          break;
        case HealthEventKind::Aer: ++aer; break;
        case HealthEventKind::SwiotlbBounce:
          ++bounces;
          bounce_bytes += it->value;
          break;
        default: break;
      }
    }
    if (faults)
      out.push_back({"iommu_fault", fmt::format("{} IOMMU fault(s) on {} (first at IOVA 0x{:x})", faults, name, first_fault_iova),
                     json{{"faults", faults}, {"first_iova", fmt::format("0x{:x}", first_fault_iova)}}});
    if (aer)
      out.push_back({"aer_error", fmt::format("{} PCIe AER error(s) on {}", aer, name), json{{"aer_errors", aer}}});
    if (bounces)
      out.push_back({"swiotlb_bounce",
                     fmt::format("{} swiotlb bounce(s), {} KiB copied through the bounce buffer on {}", bounces,
                                 bounce_bytes >> 10, name),
                     json{{"bounces", bounces}, {"bounce_bytes", bounce_bytes}}});
  }

  // In strict mode every unmap waits for an IOTLB invalidation; gputrace cannot tell which
  // devices share an IOMMU unit, so it counts the unmaps of every strict-mode device.
  uint64_t strict_unmaps = 0;
  json storm_devices = json::array();
  auto by_device = history_.unmaps_by_device_in(a, b);
  std::sort(by_device.begin(), by_device.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
  for (const auto& [d, n] : by_device) {
    if (devices_.at(d).facts.iommu_mode != GT_IOMMU_STRICT) continue;
    strict_unmaps += n;
    if (storm_devices.size() < 4) storm_devices.push_back(json{{"device", devices_.at(d).name}, {"unmaps", n}});
  }
  const double seconds = static_cast<double>(dur) / 1e9;
  const double rate = static_cast<double>(strict_unmaps) / seconds;
  if (strict_unmaps >= config_.storm_min_unmaps && rate >= config_.storm_unmaps_per_s) {
    uint64_t latency_ns = 0, latency_events = 0;
    const auto& kept = health_.kept_events();
    auto it = std::lower_bound(kept.begin(), kept.end(), a, [](const HealthEvent& e, uint64_t t) { return e.ts < t; });
    for (; it != kept.end() && it->ts <= b; ++it) {
      if (it->kind != HealthEventKind::IommuUnmapLatency) continue;
      latency_ns += it->value;
      ++latency_events;
    }
    json ev{{"strict_unmaps", strict_unmaps}, {"unmaps_per_s", std::round(rate)}, {"devices", storm_devices},
            {"iommu_unmaps", history_.iommu_unmaps_in(a, b)}};
    if (latency_events) ev["iommu_unmap_latency_ns"] = json{{"events", latency_events}, {"total", latency_ns}};
    out.push_back({"iommu_unmap_storm",
                   fmt::format("IOMMU unmap storm in strict mode: {} unmaps in {} ms ({:.0f}/s), most on {}",
                               strict_unmaps, ms(dur), rate, storm_devices[0]["device"].get<std::string>()),
                   std::move(ev)});
  }

  uint64_t overlap = 0;
  json pauses = json::array();
  for (const GcPauseSpan& p : history_.gc_pauses_in(copy.pid, a, b)) {
    overlap += std::min(b, p.end_ns) - std::max(a, p.begin_ns);
    if (pauses.size() < 8) pauses.push_back(json{{"begin_ns", p.begin_ns}, {"end_ns", p.end_ns}});
  }
  if (overlap > 0 && static_cast<double>(overlap) >= config_.gc_overlap_fraction * static_cast<double>(dur)) {
    out.push_back({"gc_pause",
                   fmt::format("GC pauses of the issuing process covered {} ms of the copy's {} ms", ms(overlap), ms(dur)),
                   json{{"overlap_ns", overlap}, {"copy_ns", dur}, {"pauses", pauses}}});
  }

  if (device) {
    const DeviceFacts& f = devices_.at(*device).facts;
    if (f.known && f.link_speed_mts && f.max_link_speed_mts &&
        (f.link_speed_mts < f.max_link_speed_mts || f.link_width < f.max_link_width)) {
      out.push_back({"link_downtrained",
                     fmt::format("the PCIe link runs at {} GT/s x{} of {} GT/s x{} ({} of {} GB/s)",
                                 f.link_speed_mts / 1000.0, f.link_width, f.max_link_speed_mts / 1000.0,
                                 f.max_link_width, gbps(j.link_now_bytes_per_s), gbps(j.link_max_bytes_per_s)),
                     json{{"link_speed_mts", f.link_speed_mts}, {"link_width", f.link_width},
                          {"max_link_speed_mts", f.max_link_speed_mts}, {"max_link_width", f.max_link_width},
                          {"link_now_gbps", gbps(j.link_now_bytes_per_s)}}});
    }
  }
  if (pageable(copy)) {
    out.push_back({"pageable_memory",
                   "the host buffer is pageable, so the driver stages it through pinned memory",
                   json{{"host_memory", "pageable"}}});
  }
  if (out.empty()) out.push_back({"unknown", "nothing gputrace traces overlapped the copy", json::object()});
  return out;
}

void TransferAnalyzer::add_to_group(const GpuActivity& copy, uint32_t device, bool assumed, const Judgement& j,
                                    std::vector<Cause> causes) {
  const GroupKey key{copy.pid, device, host_to_device(copy), causes.front().name};
  auto [it, fresh] = open_.try_emplace(key);
  StallGroup& g = it->second;
  if (fresh) {
    g.first_start = copy.start_ns;
    g.device_assumed = assumed;
    g.pageable = pageable(copy);
  }
  g.last_end = std::max(g.last_end, copy.end_ns);
  ++g.copies;
  g.bytes += copy.bytes;
  g.busy_ns += copy.duration_ns();
  if (fresh || j.bytes_per_s < g.slowest_bytes_per_s) {
    g.slowest_bytes_per_s = j.bytes_per_s;
    g.slowest = j;
    g.cause = causes.front();
  }
  for (size_t i = 1; i < causes.size(); ++i) {
    if (std::find(g.other_causes.begin(), g.other_causes.end(), causes[i].name) == g.other_causes.end())
      g.other_causes.push_back(causes[i].name);
  }
}

void TransferAnalyzer::close_before(uint64_t ts) {
  for (auto it = open_.begin(); it != open_.end();) {
    const StallGroup& g = it->second;
    if (ts != UINT64_MAX && g.last_end + config_.stall_merge_gap_ns >= ts) {
      ++it;
      continue;
    }
    emit(it->first, g);
    it = open_.erase(it);
  }
}

void TransferAnalyzer::emit(const GroupKey& key, const StallGroup& g) {
  using json = nlohmann::ordered_json;
  const auto& [pid, device, to_device, cause_name] = key;
  const double achieved = static_cast<double>(g.bytes) * 1e9 / static_cast<double>(std::max<uint64_t>(g.busy_ns, 1));
  const Judgement& w = g.slowest;
  const double reference = w.link_max_bytes_per_s > 0 ? w.link_max_bytes_per_s : w.baseline_bytes_per_s;
  Finding f;
  f.kind = "pcie_stall";
  f.severity = achieved < 0.1 * reference ? Severity::Critical : Severity::Warning;
  f.start_ns = g.first_start;
  f.end_ns = g.last_end;
  f.pid = pid;
  if (const ProcessInfo* p = processes_.latest(pid)) f.comm = p->comm;
  if (device != kUnbound) f.device = devices_.at(device).name;
  const char* dir = to_device ? "host-to-device" : "device-to-host";
  const std::string against = w.link_max_bytes_per_s > 0
                                  ? fmt::format("{:.0f}% of the {} GB/s PCIe link", 100 * achieved / reference, gbps(reference))
                                  : fmt::format("{:.0f}% of the {} GB/s baseline", 100 * achieved / reference, gbps(reference));
  f.message = fmt::format("{} {} cop{} of {} MiB at {} GB/s, {}: {}", g.copies, dir, g.copies == 1 ? "y" : "ies",
                          g.bytes >> 20, gbps(achieved), against, g.cause.why);
  json link = nullptr;
  if (w.link_max_bytes_per_s > 0) link = json{{"now_gbps", gbps(w.link_now_bytes_per_s)}, {"max_gbps", gbps(w.link_max_bytes_per_s)}};
  f.evidence = json{{"direction", to_device ? "HtoD" : "DtoH"},
                    {"host_memory", g.pageable ? "pageable" : "pinned"},
                    {"copies", g.copies},
                    {"bytes", g.bytes},
                    {"busy_ns", g.busy_ns},
                    {"achieved_gbps", gbps(achieved)},
                    {"slowest_gbps", gbps(g.slowest_bytes_per_s)},
                    {"link", link},
                    {"baseline_gbps", w.baseline_bytes_per_s > 0 ? json(gbps(w.baseline_bytes_per_s)) : json(nullptr)},
                    {"cause", cause_name},
                    {"cause_evidence", g.cause.evidence},
                    {"other_causes", g.other_causes},
                    {"device_binding", device == kUnbound ? "none" : g.device_assumed ? "assumed_pci_order" : "reported"}};
  findings_.add(std::move(f));
}

std::vector<TransferBaseline> TransferAnalyzer::baselines() const {
  std::vector<TransferBaseline> out;
  for (const auto& [key, s] : baselines_) {
    const auto& [device, to_device, size_class, is_pageable] = key;
    out.push_back({device, to_device, size_class, is_pageable, s.count, s.count ? s.median() : 0});
  }
  return out;
}

}  // namespace gputrace
