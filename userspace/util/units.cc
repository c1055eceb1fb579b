#include "userspace/util/units.h"

#include <fmt/format.h>

#include <array>
#include <cmath>

namespace gputrace {

std::string human_bytes(uint64_t bytes) {
  static constexpr std::array<const char*, 6> kUnits = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < kUnits.size()) {
    v /= 1024;
    ++unit;
  }
  return v < 10 ? fmt::format("{:.1f} {}", v, kUnits[unit]) : fmt::format("{:.0f} {}", v, kUnits[unit]);
}

std::string human_duration(uint64_t ns) {
  if (ns < 1'000) return fmt::format("{} ns", ns);
  if (ns < 1'000'000) return fmt::format("{:.1f} us", ns / 1e3);
  if (ns < 1'000'000'000) return fmt::format("{:.2f} ms", ns / 1e6);
  return fmt::format("{:.2f} s", ns / 1e9);
}

std::string human_count(double n) {
  if (n < 1'000) return fmt::format("{:.0f}", n);
  if (n < 1'000'000) return fmt::format("{:.1f}k", n / 1e3);
  if (n < 1'000'000'000) return fmt::format("{:.1f}M", n / 1e6);
  return fmt::format("{:.1f}G", n / 1e9);
}

std::string human_rate(double per_second) {
  if (per_second <= 0 || !std::isfinite(per_second)) return "0";
  if (per_second < 10) return fmt::format("{:.1f}", per_second);
  return human_count(per_second);
}

std::string human_percent(double fraction) {
  if (fraction >= 1) return "100%";
  return fmt::format("{:.2f}%", fraction * 100);
}

}  // namespace gputrace
