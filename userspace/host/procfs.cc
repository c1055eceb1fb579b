#include "userspace/host/procfs.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace gputrace {

std::optional<ProcStat> read_proc_stat(int pid, const std::string& proc_root) {
  std::ifstream in(fmt::format("{}/{}/stat", proc_root, pid));
  // A process that exits between open and read makes read(2) fail with ESRCH, and libstdc++'s
  // filebuf throws that from underflow: an istreambuf_iterator would carry the exception out
  // (and abort the daemon); operator<< catches it and just stops.
  std::ostringstream text;
  text << in.rdbuf();
  const std::string stat = text.str();
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
  std::ifstream in(fmt::format("{}/{}/status", proc_root, pid));
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
