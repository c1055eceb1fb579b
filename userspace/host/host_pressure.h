// HostPressure: how loaded the host is, read from /proc the way our users' own alert rules
// read it: CPU busy share since the last reading (/proc/stat), memory pressure stall
// (/proc/pressure/memory, "some avg10") and the share of memory still available
// (/proc/meminfo). The load shedder (userspace/session/load_shedder.h) judges it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace gputrace {

struct HostPressure {
  std::optional<double> cpu_busy_pct;         // none on the first reading (a share needs two)
  std::optional<double> memory_some_avg10;    // none without PSI (CONFIG_PSI off, psi=0)
  std::optional<double> memory_available_pct; // MemAvailable / MemTotal
};

class PressureReader {
 public:
  // proc_root: "/proc", or a directory laid out like it (tests).
  explicit PressureReader(std::string proc_root = "/proc") : root_(std::move(proc_root)) {}

  // One reading; each part is missing when its file is (or cannot be parsed).
  HostPressure read();

 private:
  std::optional<double> cpu_busy_pct();

  std::string root_;
  uint64_t last_busy_ = 0, last_total_ = 0;
  bool have_last_ = false;
};

// Parsers, exposed for tests.
struct CpuTimes {
  uint64_t busy = 0, total = 0;
};
std::optional<CpuTimes> parse_proc_stat_cpu(const std::string& proc_stat);
std::optional<double> parse_psi_some_avg10(const std::string& pressure);
std::optional<double> parse_meminfo_available_pct(const std::string& meminfo);

}  // namespace gputrace
