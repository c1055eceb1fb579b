#include "userspace/correlate/transfers.h"

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

LinkLoad::Link TransferAnalyzer::link_of(const GpuActivity& copy, const GpuBinding& binding) {
  return binding.device ? LinkLoad::Link{true, *binding.device, host_to_device(copy)}
                        : LinkLoad::Link{false, copy.device_id, host_to_device(copy)};
}

void TransferAnalyzer::on_copy_in_flight(const GpuActivity& copy, const GpuBinding& binding) {
  if (crosses_pcie(copy)) link_load_.add(link_of(copy, binding), copy.start_ns, copy.end_ns, copy.bytes);
}

void TransferAnalyzer::on_memcpy(const GpuActivity& copy, const GpuBinding& binding, GpuProcessStats& stats) {
  ++stats_.copies;
  ++stats.memcpys;
  stats.memcpy_bytes += copy.bytes;
  stats.memcpy_ns += copy.duration_ns();
  // Copies are judged in start order: none judged from now on overlaps what ended before this.
  link_load_.forget_before(copy.start_ns);
  if (!crosses_pcie(copy) || copy.bytes < config_.min_judged_bytes) return;
  ++stats_.judged;
  if (!binding.device) ++stats_.unbound_device;
  const uint32_t device = binding.device.value_or(kUnbound);
  const auto size_class = static_cast<uint8_t>(copy.bytes < 4 * config_.min_judged_bytes    ? 0
                                               : copy.bytes < 16 * config_.min_judged_bytes ? 1
                                                                                            : 2);
  const BaselineKey key{device, host_to_device(copy), size_class, pageable(copy)};
  const Judgement j = judge(copy, binding, key);
  if (j.other_copies) ++stats_.shared_link;
  if (binding.device) bandwidth_[{*binding.device, host_to_device(copy)}].add(j.bytes_per_s);
  Samples& s = baselines_[key];
  s.ring[s.count++ % s.ring.size()] = j.carried_bytes_per_s;
  if (!j.stalled) return;
  ++stats_.stalled;
  ++stats.stalled_copies;
  add_to_group(copy, device, binding.assumed, j, causes_of(copy, binding.device, j));
}

TransferAnalyzer::Judgement TransferAnalyzer::judge(const GpuActivity& copy, const GpuBinding& binding,
                                                    const BaselineKey& key) const {
  Judgement j;
  const double seconds = static_cast<double>(copy.duration_ns()) / 1e9;
  j.bytes_per_s = static_cast<double>(copy.bytes) / seconds;
  const LinkLoad::Load load = link_load_.during(link_of(copy, binding), copy.start_ns, copy.end_ns);
  // The copy itself is in the load (added when it arrived); never below its own bandwidth.
  j.carried_bytes_per_s = std::max(load.bytes / seconds, j.bytes_per_s);
  j.other_copies = load.copies > 0 ? load.copies - 1 : 0;
  if (binding.device) {
    const DeviceFacts& f = devices_.at(*binding.device).facts;
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
  // Judged by what the link carried: a copy slowed only by its neighbours on the link is
  // the link doing its job.
  const double carried = j.carried_bytes_per_s;
  const bool below_baseline = j.baseline_bytes_per_s > 0 && carried < limit * j.baseline_bytes_per_s;
  if (j.link_max_bytes_per_s > 0) {
    j.stalled = carried < limit * j.link_max_bytes_per_s && (j.baseline_bytes_per_s == 0 || below_baseline);
  } else {
    j.stalled = below_baseline;
  }
  return j;
}

// Every condition that overlaps the copy, most specific first: transient events on the
// device or the host, then the issuing process's GC, then standing conditions. Conditions
// that overlapped but cannot explain the copy come last, after "unknown" if nothing else
// does, so they stay visible in other_causes without being named the cause.
std::vector<TransferAnalyzer::Cause> TransferAnalyzer::causes_of(const GpuActivity& copy,
                                                                 std::optional<uint32_t> device,
                                                                 const Judgement& j) const {
  using json = nlohmann::ordered_json;
  std::vector<Cause> out, weak;
  const uint64_t a = copy.start_ns, b = copy.end_ns, dur = copy.duration_ns();

  if (device) {
    const std::string& name = devices_.at(*device).name;
    uint64_t faults = 0, aer = 0;
    uint64_t first_fault_iova = 0;
    const auto& kept = health_.kept_events();
    auto it = std::lower_bound(kept.begin(), kept.end(), a, [](const HealthEvent& e, uint64_t t) { return e.ts < t; });
    for (; it != kept.end() && it->ts <= b; ++it) {
      if (it->device != *device) continue;
      if (it->kind == HealthEventKind::Aer)
        ++aer;
      else if (!faults++)
        first_fault_iova = it->addr;
    }
    const auto [bounces, bounce_bytes] = history_.swiotlb_in(*device, a, b);
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

  if (auto storm = unmap_storm(copy, device)) out.push_back(std::move(*storm));

  uint64_t overlap = 0;
  json pauses = json::array();
  for (const GcPauseSpan& p : history_.gc_pauses_in(copy.pid, a, b)) {
    overlap += std::min(b, p.end_ns) - std::max(a, p.begin_ns);
    if (pauses.size() < 8) pauses.push_back(json{{"begin_ns", p.begin_ns}, {"end_ns", p.end_ns}});
  }
  if (overlap > 0 && static_cast<double>(overlap) >= config_.gc_overlap_fraction * static_cast<double>(dur)) {
    // The CPU takes part in a pageable copy (the driver stages it through pinned memory, and
    // a collector competes for the cores and memory bandwidth that staging needs); a pinned
    // copy is the DMA engine's alone once it started.
    (pageable(copy) ? out : weak)
        .push_back({"gc_pause",
                    fmt::format("GC pauses of the issuing process covered {} ms of the copy's {} ms", ms(overlap), ms(dur)),
                    json{{"overlap_ns", overlap}, {"copy_ns", dur}, {"pauses", pauses}}});
  }

  if (device) {
    const DeviceFacts& f = devices_.at(*device).facts;
    const bool narrow = f.link_downtrained();
    // A link read narrower than the copy ran is a stale reading (GPUs drop their link speed
    // when idle and raise it under load): not a cause. A narrow link explains the copy only
    // if the copy ran at about what that link carries.
    const bool stale = j.carried_bytes_per_s > 1.05 * j.link_now_bytes_per_s;
    if (narrow && !stale) {
      const bool explains = j.carried_bytes_per_s >= config_.stall_fraction * j.link_now_bytes_per_s;
      (explains ? out : weak)
          .push_back({"link_downtrained",
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
  if (out.empty()) {
    out.push_back({"unknown",
                   device ? "nothing gputrace traces overlapped the copy"
                          : "no host-side cause found; the copy's GPU is not known to gputrace, so its "
                            "device events and link were not checked",
                   json::object()});
  }
  out.insert(out.end(), std::make_move_iterator(weak.begin()), std::make_move_iterator(weak.end()));
  return out;
}

// In strict mode every unmap waits for an IOTLB invalidation; gputrace cannot tell which
// devices share an IOMMU unit, so it counts the unmaps of every strict-mode device. A GPU
// whose DMA the IOMMU does not translate (identity, none) is not slowed by invalidations.
std::optional<TransferAnalyzer::Cause> TransferAnalyzer::unmap_storm(const GpuActivity& copy,
                                                                     std::optional<uint32_t> device) const {
  using json = nlohmann::ordered_json;
  if (device) {
    const uint8_t mode = devices_.at(*device).facts.iommu_mode;
    if (mode == GT_IOMMU_IDENTITY || mode == GT_IOMMU_NONE) return std::nullopt;
  }
  const uint64_t a = copy.start_ns, b = copy.end_ns, dur = copy.duration_ns();
  uint64_t strict_unmaps = 0, latency_ns = 0, latency_events = 0;
  json storm_devices = json::array();
  auto by_device = history_.unmaps_by_device_in(a, b);
  std::sort(by_device.begin(), by_device.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
  for (const auto& [d, n] : by_device) {
    if (devices_.at(d).facts.iommu_mode != GT_IOMMU_STRICT) continue;
    strict_unmaps += n;
    const KernelHistory::Amount latency = history_.unmap_latency_in(d, a, b);
    latency_events += latency.count;
    latency_ns += latency.total;
    if (storm_devices.size() < 4) storm_devices.push_back(json{{"device", devices_.at(d).name}, {"unmaps", n}});
  }
  const double rate = static_cast<double>(strict_unmaps) * 1e9 / static_cast<double>(dur);
  if (strict_unmaps < config_.storm_min_unmaps || rate < config_.storm_unmaps_per_s) return std::nullopt;
  json ev{{"strict_unmaps", strict_unmaps}, {"unmaps_per_s", std::round(rate)}, {"devices", storm_devices},
          {"iommu_unmaps", history_.iommu_unmaps_in(a, b)}};
  std::string latency;
  if (latency_events) {
    ev["iommu_unmap_latency_ns"] = json{{"events", latency_events}, {"total", latency_ns}};
    latency = fmt::format(", {:.1f} us each on average", static_cast<double>(latency_ns) / 1e3 /
                                                            static_cast<double>(latency_events));
  }
  return Cause{"iommu_unmap_storm",
               fmt::format("IOMMU unmap storm in strict mode: {} unmaps in {} ms ({:.0f}/s{}), most on {}", strict_unmaps,
                           ms(dur), rate, latency, storm_devices[0]["device"].get<std::string>()),
               std::move(ev)};
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
  f.kind = FindingKind::pcie_stall;
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
  const std::string what = g.copies == 1 ? fmt::format("1 {} copy of {} MiB", dir, g.bytes >> 20)
                                          : fmt::format("{} {} copies, {} MiB in all,", g.copies, dir, g.bytes >> 20);
  const std::string shared =
      w.other_copies ? fmt::format(" (the link carried {} GB/s with {} other cop{} in flight)", gbps(w.carried_bytes_per_s),
                                   w.other_copies, w.other_copies == 1 ? "y" : "ies")
                     : "";
  f.message = fmt::format("{} at {} GB/s{}, {}: {}", what, gbps(achieved), shared, against, g.cause.why);
  json link = nullptr;
  if (w.link_max_bytes_per_s > 0) link = json{{"now_gbps", gbps(w.link_now_bytes_per_s)}, {"max_gbps", gbps(w.link_max_bytes_per_s)}};
  f.evidence = json{{"direction", to_device ? "HtoD" : "DtoH"},
                    {"host_memory", g.pageable ? "pageable" : "pinned"},
                    {"copies", g.copies},
                    {"bytes", g.bytes},
                    {"busy_ns", g.busy_ns},
                    {"achieved_gbps", gbps(achieved)},
                    {"slowest_gbps", gbps(g.slowest_bytes_per_s)},
                    {"slowest_link_carried_gbps", gbps(w.carried_bytes_per_s)},
                    {"slowest_other_copies", w.other_copies},
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
