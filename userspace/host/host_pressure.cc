#include "userspace/host/host_pressure.h"

#include "userspace/host/procfs.h"

#include <cstdlib>
#include <sstream>

namespace gputrace {
std::optional<CpuTimes> parse_proc_stat_cpu(const std::string& proc_stat) {
  // "cpu  user nice system idle iowait irq softirq steal guest guest_nice": idle and iowait
  // are not busy; guest time is already inside user and nice.
  std::istringstream in(proc_stat);
  std::string label;
  if (!(in >> label) || label != "cpu") return std::nullopt;
  uint64_t v[8] = {};
  for (uint64_t& x : v)
    if (!(in >> x)) return std::nullopt;
  CpuTimes t;
  for (uint64_t x : v) t.total += x;
  t.busy = t.total - v[3] - v[4];
  return t;
}

std::optional<double> parse_psi_some_avg10(const std::string& pressure) {
  // "some avg10=1.23 avg60=... avg300=... total=..."
  const auto line = pressure.find("some ");
  if (line == std::string::npos) return std::nullopt;
  const auto key = pressure.find("avg10=", line);
  if (key == std::string::npos) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(pressure.c_str() + key + 6, &end);
  if (end == pressure.c_str() + key + 6) return std::nullopt;
  return v;
}

std::optional<double> parse_meminfo_available_pct(const std::string& meminfo) {
  std::istringstream in(meminfo);
  std::string key;
  uint64_t value = 0, total = 0, available = 0;
  bool have_total = false, have_available = false;
  while (in >> key >> value) {
    if (key == "MemTotal:") total = value, have_total = true;
    if (key == "MemAvailable:") available = value, have_available = true;
    in.ignore(64, '\n');  // the unit
  }
  if (!have_total || !have_available || total == 0) return std::nullopt;
  return 100.0 * static_cast<double>(available) / static_cast<double>(total);
}

std::optional<double> PressureReader::cpu_busy_pct() {
  const auto text = read_proc_file(root_ + "/stat");
  const auto now = text ? parse_proc_stat_cpu(*text) : std::nullopt;
  if (!now) return std::nullopt;
  std::optional<double> pct;
  if (have_last_ && now->total > last_total_ && now->busy >= last_busy_)
    pct = 100.0 * static_cast<double>(now->busy - last_busy_) / static_cast<double>(now->total - last_total_);
  last_busy_ = now->busy, last_total_ = now->total, have_last_ = true;
  return pct;
}

HostPressure PressureReader::read() {
  HostPressure p;
  p.cpu_busy_pct = cpu_busy_pct();
  if (auto text = read_proc_file(root_ + "/pressure/memory")) p.memory_some_avg10 = parse_psi_some_avg10(*text);
  if (auto text = read_proc_file(root_ + "/meminfo")) p.memory_available_pct = parse_meminfo_available_pct(*text);
  return p;
}

}  // namespace gputrace
