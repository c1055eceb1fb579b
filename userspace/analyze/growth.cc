#include "userspace/analyze/growth.h"

#include <fmt/format.h>

#include <algorithm>

namespace gputrace {

GrowthDetector::GrowthDetector(GrowthConfig config, const DeviceTable& devices, MappingTracker& mappings,
                               FindingSink& findings)
    : config_(config), devices_(devices), mappings_(mappings), findings_(findings) {
  config_.sample_period_ns = std::max<uint64_t>(config_.sample_period_ns, 1'000'000);
  config_.window_ns = std::max(config_.window_ns, 3 * config_.sample_period_ns);
}

void GrowthDetector::start_at(uint64_t first_ts) {
  if (next_sample_ns_ == UINT64_MAX) next_sample_ns_ = first_ts + config_.sample_period_ns;
}

void GrowthDetector::run_due(uint64_t now_ns) {
  const uint64_t period = config_.sample_period_ns;
  while (next_sample_ns_ < now_ns) {
    // Nothing changes during a long gap without records: skip to the last window of it.
    const uint64_t span = config_.window_ns + 2 * period;
    if (now_ns - next_sample_ns_ > span) next_sample_ns_ += (now_ns - next_sample_ns_ - span) / period * period;
    sample(next_sample_ns_);
    // A timestamp near 2^64 (a crafted capture) must not wrap the schedule back to the start.
    if (next_sample_ns_ > UINT64_MAX - period) {
      next_sample_ns_ = UINT64_MAX;
      break;
    }
    next_sample_ns_ += period;
  }
}

void GrowthDetector::sample(uint64_t at_ns) {
  const auto& stats = mappings_.all_device_stats();
  if (series_.size() < stats.size()) series_.resize(stats.size());
  for (uint32_t device = 0; device < stats.size(); ++device) {
    DeviceSeries& series = series_[device];
    const Sample s{at_ns, stats[device].interval_min_outstanding, stats[device].interval_min_bytes};
    if (!series.samples.empty() && (s.count < series.samples.back().count || s.bytes < series.samples.back().bytes))
      series.reported = false;
    series.samples.push_back(s);
    while (at_ns - series.samples.front().ts > config_.window_ns) series.samples.pop_front();
    evaluate(device, series);
  }
  mappings_.start_growth_interval();
}

bool GrowthDetector::grows_steadily(const std::deque<Sample>& s, uint64_t Sample::*metric, uint64_t minimum) const {
  if (s.size() < 4 || s.back().ts - s.front().ts < config_.window_ns) return false;
  for (size_t i = 1; i < s.size(); ++i)
    if (s[i].*metric < s[i - 1].*metric) return false;
  if (s.back().*metric - s.front().*metric < minimum) return false;
  // Each third of the window must carry a fair part of the growth: a step (rings allocated
  // once) followed by a trickle is not steady growth.
  const size_t n = s.size() - 1;
  for (size_t third = 0; third < 3; ++third)
    if (s[(third + 1) * n / 3].*metric - s[third * n / 3].*metric < std::max<uint64_t>(minimum / 6, 1)) return false;
  return true;
}

void GrowthDetector::evaluate(uint32_t device, DeviceSeries& series) {
  if (series.reported) return;
  if (grows_steadily(series.samples, &Sample::count, config_.min_mappings)) {
    report(device, series, "mappings");
  } else if (grows_steadily(series.samples, &Sample::bytes, config_.min_bytes)) {
    report(device, series, "bytes");
  } else {
    return;
  }
  series.reported = true;
}

void GrowthDetector::report(uint32_t device, const DeviceSeries& series, const char* metric) {
  const Sample& first = series.samples.front();
  const Sample& last = series.samples.back();
  const double seconds = double(last.ts - first.ts) / 1e9;
  const auto& dev = devices_.at(device);
  Finding f;
  f.kind = FindingKind::dma_mapping_growth;
  f.severity = Severity::Warning;
  f.start_ns = first.ts;
  f.end_ns = last.ts;
  f.device = dev.name;
  f.message = fmt::format("{}: outstanding DMA mappings grew steadily from {} to {} ({} to {} bytes) over {:.0f} s",
                          dev.name, first.count, last.count, first.bytes, last.bytes, seconds);
  f.evidence = {{"device", dev.name},
                {"iommu_mode", devices_.iommu_mode(device)},
                {"metric", metric},
                {"window_ns", last.ts - first.ts},
                {"start", {{"ns", first.ts}, {"outstanding", first.count}, {"bytes", first.bytes}}},
                {"end", {{"ns", last.ts}, {"outstanding", last.count}, {"bytes", last.bytes}}},
                {"growth", {{"mappings", last.count - first.count}, {"bytes", last.bytes - first.bytes}}},
                {"mappings_per_s", seconds > 0 ? double(last.count - first.count) / seconds : 0.0},
                {"samples", series.samples.size()}};
  findings_.add(std::move(f));
}

}  // namespace gputrace
