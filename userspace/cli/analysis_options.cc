#include "userspace/cli/analysis_options.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <type_traits>
#include <functional>
#include <string_view>

namespace gputrace {
namespace {

using Setter = std::function<Result<void>(EngineConfig&, const std::string&)>;

Result<double> number(const std::string& text) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) || v < 0)
    return fail("'{}' is not a non-negative number", text);
  return v;
}

Setter fraction(double CorrelationConfig::*field) {
  return [field](EngineConfig& c, const std::string& text) -> Result<void> {
    auto v = number(text);
    if (!v) return tl::unexpected(v.error());
    if (*v <= 0 || *v > 1) return fail("'{}' is not a fraction in (0, 1]", text);
    c.correlation.*field = *v;
    return {};
  };
}

// A count or rate: at least `least`, and within what the field holds (a cast of a larger
// double is undefined); whole for integer fields.
template <class T>
Setter count(T CorrelationConfig::*field, double least = 0) {
  return [field, least](EngineConfig& c, const std::string& text) -> Result<void> {
    auto v = number(text);
    if (!v) return tl::unexpected(v.error());
    if (*v < least) return fail("'{}' is below {}", text, least);
    if constexpr (std::is_integral_v<T>) {
      if (*v != std::floor(*v)) return fail("'{}' is not a whole number", text);
      if (*v >= static_cast<double>(std::numeric_limits<T>::max())) return fail("'{}' is too large", text);
    }
    c.correlation.*field = static_cast<T>(*v);
    return {};
  };
}

Setter duration(uint64_t CorrelationConfig::*field) {
  return [field](EngineConfig& c, const std::string& text) -> Result<void> {
    auto d = parse_duration(text);
    if (!d) return tl::unexpected(d.error());
    c.correlation.*field = static_cast<uint64_t>(d->count());
    return {};
  };
}

Setter gc_duration(uint64_t GcFindingConfig::*field) {
  return [field](EngineConfig& c, const std::string& text) -> Result<void> {
    auto d = parse_duration(text);
    if (!d) return tl::unexpected(d.error());
    if (d->count() <= 0) return fail("'{}' is not a positive duration", text);
    c.gc.*field = static_cast<uint64_t>(d->count());
    return {};
  };
}

Result<void> set_gc_share(EngineConfig& c, const std::string& text) {
  auto v = number(text);
  if (!v) return tl::unexpected(v.error());
  if (*v <= 0 || *v >= 1) return fail("'{}' is not a fraction in (0, 1)", text);
  c.gc.share_fraction = *v;
  return {};
}

// Full collections are kept as evidence, so the count is small: 1 to 8.
Result<void> set_gc_full_count(EngineConfig& c, const std::string& text) {
  auto v = number(text);
  if (!v) return tl::unexpected(v.error());
  if (*v < 1 || *v > 8 || *v != std::floor(*v)) return fail("'{}' is not a whole number from 1 to 8", text);
  c.gc.full_count = static_cast<uint32_t>(*v);
  return {};
}

struct Threshold {
  const char* name;
  Setter set;
};

const Threshold kThresholds[] = {
    {"stall_fraction", fraction(&CorrelationConfig::stall_fraction)},
    {"min_judged_bytes", count(&CorrelationConfig::min_judged_bytes)},
    {"baseline_min_samples", count(&CorrelationConfig::baseline_min_samples, 1)},
    {"stall_merge_gap", duration(&CorrelationConfig::stall_merge_gap_ns)},
    {"storm_unmaps_per_s", count(&CorrelationConfig::storm_unmaps_per_s)},
    {"storm_min_unmaps", count(&CorrelationConfig::storm_min_unmaps)},
    {"gc_overlap_fraction", fraction(&CorrelationConfig::gc_overlap_fraction)},
    {"idle_min", duration(&CorrelationConfig::idle_min_ns)},
    {"idle_resume_slack", duration(&CorrelationConfig::idle_resume_slack_ns)},
    {"idle_merge_gap", duration(&CorrelationConfig::idle_merge_gap_ns)},
    {"history_span", duration(&CorrelationConfig::history_span_ns)},
    {"gc_pause_long", gc_duration(&GcFindingConfig::pause_long_ns)},
    {"gc_share", set_gc_share},
    {"gc_share_window", gc_duration(&GcFindingConfig::share_window_ns)},
    {"gc_full_count", set_gc_full_count},
    {"gc_full_window", gc_duration(&GcFindingConfig::full_window_ns)},
    {"gpu_window",
     [](EngineConfig& c, const std::string& text) -> Result<void> {
       auto d = parse_duration(text);
       if (!d) return tl::unexpected(d.error());
       c.gpu_reorder_window_ns = static_cast<uint64_t>(d->count());
       return {};
     }},
};

}  // namespace

const char* const kAnalysisOptionsHelp = R"(analysis options:
  --threshold NAME=VALUE  change an analysis threshold (repeatable; docs/findings.md):
                          stall_fraction, min_judged_bytes, baseline_min_samples,
                          stall_merge_gap, storm_unmaps_per_s, storm_min_unmaps,
                          gc_overlap_fraction, idle_min, idle_resume_slack, idle_merge_gap,
                          history_span, gpu_window,
                          gc_pause_long (200ms), gc_share (0.15), gc_share_window (60s),
                          gc_full_count (3), gc_full_window (60s) (durations as 500us, 2ms, 1s)
)";

void declare_analysis_options(Options& o) { o.value("threshold"); }

Result<void> apply_analysis_options(const Options& o, EngineConfig& config) {
  for (const std::string& setting : o.all("threshold")) {
    const auto eq = setting.find('=');
    if (eq == std::string::npos) return fail("--threshold {}: expected NAME=VALUE", setting);
    const std::string name = setting.substr(0, eq), value = setting.substr(eq + 1);
    const Threshold* t = nullptr;
    for (const Threshold& candidate : kThresholds)
      if (name == candidate.name) t = &candidate;
    if (!t) {
      std::string names;
      for (const Threshold& candidate : kThresholds) names += fmt::format("{}{}", names.empty() ? "" : ", ", candidate.name);
      return fail("--threshold: unknown threshold '{}' (known: {})", name, names);
    }
    if (auto r = t->set(config, value); !r) return fail("--threshold {}: {}", name, r.error().describe());
  }
  // GPU activity is judged against kernel history that must still be there when it arrives.
  if (config.correlation.history_span_ns <= config.gpu_reorder_window_ns)
    return fail("--threshold: history_span ({} ms) must be longer than gpu_window ({} ms)",
                config.correlation.history_span_ns / 1'000'000, config.gpu_reorder_window_ns / 1'000'000);
  return {};
}

}  // namespace gputrace
