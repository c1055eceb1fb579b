// Readers of /proc/PID files that more than one concern needs (process snapshot, GC discovery).
#pragma once

#include "userspace/util/result.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace gputrace {

// The one reader for /proc (and sysfs) files: read(2) into a string of at most max_bytes,
// never an exception. A process can exit between open and read (ESRCH), a file can vanish
// (ENOENT) or fail mid-read (EIO): each is an error with its errno, logged at debug level,
// for the caller to treat as "gone". A file longer than max_bytes is cut there.
Result<std::string> read_proc_file(const std::string& path, size_t max_bytes = 64 * 1024);
// The same from an open descriptor (path names it in messages).
Result<std::string> read_proc_fd(int fd, const std::string& path, size_t max_bytes = 64 * 1024);

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
