#include "userspace/host/procfs.h"

#include "userspace/util/fd.h"
#include "userspace/util/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

namespace gputrace {

Result<std::string> read_proc_fd(int fd, const std::string& path, size_t max_bytes) {
  std::string out;
  char buf[4096];
  while (out.size() < max_bytes) {
    const ssize_t n = ::read(fd, buf, std::min(sizeof(buf), max_bytes - out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      log_debug("reading {}: {}", path, std::strerror(err));
      return fail_errno(err, "cannot read {}", path);
    }
    if (n == 0) break;  // a short read is not the end: /proc hands out a page at a time
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> read_proc_file(const std::string& path, size_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    const int err = errno;
    log_debug("opening {}: {}", path, std::strerror(err));
    return fail_errno(err, "cannot open {}", path);
  }
  return read_proc_fd(fd.get(), path, max_bytes);
}

std::optional<ProcStat> read_proc_stat(int pid, const std::string& proc_root) {
  // The process may exit at any moment: ESRCH/ENOENT/EIO all mean "not there any more".
  auto text = read_proc_file(fmt::format("{}/{}/stat", proc_root, pid), 4096);
  if (!text) return std::nullopt;
  const std::string& stat = *text;
  const auto open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open || close + 2 > stat.size())
    return std::nullopt;
  ProcStat s;
  s.comm = stat.substr(open + 1, close - open - 1);
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 4) s.ppid = static_cast<uint32_t>(std::strtoul(field.c_str(), nullptr, 10));
    if (i == 22) {
      s.start_ticks = std::strtoull(field.c_str(), nullptr, 10);
      return s;
    }
  }
  return std::nullopt;
}

int read_ns_pid(int pid, const std::string& proc_root) {
  auto text = read_proc_file(fmt::format("{}/{}/status", proc_root, pid));
  if (!text) return pid;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("NSpid:")) continue;
    std::istringstream fields(line.substr(6));
    int v = pid, last = pid;
    while (fields >> v) last = v;
    return last;
  }
  return pid;
}

}  // namespace gputrace
