// Readers of /proc/PID files that more than one concern needs (process snapshot, GC discovery).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace gputrace {

struct ProcStat {
  std::string comm;
  uint32_t ppid = 0;
  uint64_t start_ticks = 0;  // field 22: clock ticks of CLOCK_BOOTTIME at process start
};

// /proc/PID/stat; nullopt when the process is gone or the file is malformed. comm may hold
// spaces and ')', so the fields are counted from the last ')'.
std::optional<ProcStat> read_proc_stat(int pid, const std::string& proc_root = "/proc");

// The pid in the process's innermost pid namespace ("NSpid:" of /proc/PID/status); pid itself
// when the line is missing.
int read_ns_pid(int pid, const std::string& proc_root = "/proc");

}  // namespace gputrace
