#include "host/proc_snapshot.h"

extern "C" {
#include "proc.h"
}

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace gputrace {
namespace fs = std::filesystem;
namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// /proc/PID/stat: "pid (comm) state ppid ... starttime(22) ..."; comm may hold spaces and ')'.
bool parse_stat(const std::string& stat, gt_proc_event& e, uint64_t boot_to_mono_ns) {
  auto open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  copy_cstr(e.comm, std::string_view(stat).substr(open + 1, close - open - 1));
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 4) e.ppid = static_cast<uint32_t>(std::stoul(field));
    if (i == 22) {
      // starttime counts clock ticks of CLOCK_BOOTTIME; BPF reports CLOCK_MONOTONIC
      uint64_t ticks = std::stoull(field);
      uint64_t ns = ticks * (1000000000ull / static_cast<uint64_t>(sysconf(_SC_CLK_TCK)));
      e.start_ns = ns > boot_to_mono_ns ? ns - boot_to_mono_ns : 0;
      return true;
    }
  }
  return false;
}

uint32_t ns_pid_of(const fs::path& dir) {
  std::istringstream status(slurp(dir / "status"));
  std::string line;
  while (std::getline(status, line)) {
    if (!line.starts_with("NSpid:")) continue;
    auto last = line.find_last_of(" \t");
    return static_cast<uint32_t>(std::strtoul(line.c_str() + last + 1, nullptr, 10));
  }
  return 0;
}

uint64_t boottime_minus_monotonic() {
  timespec b{}, m{};
  clock_gettime(CLOCK_BOOTTIME, &b);
  clock_gettime(CLOCK_MONOTONIC, &m);
  int64_t d = (b.tv_sec - m.tv_sec) * 1000000000ll + (b.tv_nsec - m.tv_nsec);
  return d > 0 ? static_cast<uint64_t>(d) : 0;
}

}  // namespace

std::vector<OwnedRecord> snapshot_processes(uint64_t ts, const std::string& proc_root) {
  std::vector<OwnedRecord> out;
  const uint64_t suspend_ns = boottime_minus_monotonic();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(proc_root, ec)) {
    const std::string name = entry.path().filename().string();
    uint32_t pid = 0;
    if (std::from_chars(name.data(), name.data() + name.size(), pid).ec != std::errc()) continue;
    gt_proc_event e{};
    fill_user_header(e.hdr, GT_EV_PROC_INFO, ts, pid);
    if (!parse_stat(slurp(entry.path() / "stat"), e, suspend_ns)) continue;  // exited meanwhile
    e.ns_pid = ns_pid_of(entry.path());
    struct stat st {};
    if (stat((entry.path() / "ns/pid").c_str(), &st) == 0) e.pidns_ino = static_cast<uint32_t>(st.st_ino);
    auto exe = fs::read_symlink(entry.path() / "exe", ec);
    copy_cstr(e.filename, ec ? std::string() : exe.string());
    out.push_back(OwnedRecord::of(e));
  }
  return out;
}

}  // namespace gputrace
