#include "userspace/attach/ptrace_permission.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace gputrace::attach {
namespace {

constexpr int kCapSysPtrace = 19;

bool have_cap_sys_ptrace() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("CapEff:", 0) != 0) continue;
    const uint64_t caps = std::stoull(line.substr(7), nullptr, 16);
    return (caps >> kCapSysPtrace) & 1;
  }
  return false;
}

}  // namespace

int read_yama_scope(const std::string& path) {
  std::ifstream f(path);
  int scope = -1;
  if (!(f >> scope)) return -1;
  return scope;
}

PtraceContext ptrace_context(pid_t target) {
  PtraceContext c;
  c.yama_scope = read_yama_scope();
  c.cap_sys_ptrace = have_cap_sys_ptrace();
  c.self_uid = ::geteuid();
  std::ifstream status(fmt::format("/proc/{}/status", target));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Uid:", 0) != 0) continue;
    std::istringstream in(line.substr(4));
    uid_t real = 0, effective = 0;
    in >> real >> effective;
    c.target_uid = effective;
  }
  // /proc/PID/* (not the directory itself) belongs to root while the process is not dumpable.
  struct stat st {};
  if (::stat(fmt::format("/proc/{}/status", target).c_str(), &st) == 0)
    c.target_dumpable = !(st.st_uid == 0 && c.target_uid != 0);
  return c;
}

std::string explain_ptrace_refusal(int errnum, const PtraceContext& c, pid_t pid) {
  const std::string said = fmt::format("the kernel refused ptrace access to process {} ({})", pid, std::strerror(errnum));
  const std::string fallback =
      "start the process with the injection library instead (CUDA_INJECTION64_PATH, docs/cupti.md) to trace its GPU";
  if (c.yama_scope >= 3)
    return fmt::format("{}: kernel.yama.ptrace_scope is 3, which forbids ptrace to every process, root included, "
                       "until the next reboot. gputrace cannot attach on this host; {}",
                       said, fallback);
  if (!c.cap_sys_ptrace) {
    if (c.yama_scope == 2)
      return fmt::format("{}: kernel.yama.ptrace_scope is 2, so only a process with CAP_SYS_PTRACE may attach: run "
                         "gputrace as root",
                         said);
    if (c.yama_scope == 1)
      return fmt::format("{}: kernel.yama.ptrace_scope is 1, so without CAP_SYS_PTRACE only a process's parent may "
                         "attach to it: run gputrace as root",
                         said);
    if (c.self_uid != c.target_uid)
      return fmt::format("{}: it runs as uid {} and gputrace as uid {} without CAP_SYS_PTRACE: run gputrace as root",
                         said, c.target_uid, c.self_uid);
    if (!c.target_dumpable)
      return fmt::format("{}: it is not dumpable (it changed its credentials or called prctl(PR_SET_DUMPABLE, 0)), "
                         "so only a process with CAP_SYS_PTRACE may attach: run gputrace as root",
                         said);
    return fmt::format("{}: gputrace lacks CAP_SYS_PTRACE (a container without it, or a dropped capability): run "
                       "it as root on the host",
                       said);
  }
  return fmt::format("{} although gputrace has CAP_SYS_PTRACE: a security module (AppArmor, SELinux) or a "
                     "container boundary forbids it. {}",
                     said, fallback);
}

}  // namespace gputrace::attach
