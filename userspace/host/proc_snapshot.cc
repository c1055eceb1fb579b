#include "userspace/host/proc_snapshot.h"

#include "userspace/host/procfs.h"

extern "C" {
#include "bpf/proc.h"
}

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>

namespace gputrace {
namespace fs = std::filesystem;
namespace {

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
    auto ps = read_proc_stat(static_cast<int>(pid), proc_root);
    if (!ps) continue;  // exited meanwhile
    gt_proc_event e{};
    fill_user_header(e.hdr, GT_EV_PROC_INFO, ts, pid);
    copy_cstr(e.comm, ps->comm);
    e.ppid = ps->ppid;
    // starttime counts clock ticks of CLOCK_BOOTTIME; BPF reports CLOCK_MONOTONIC
    const uint64_t boot_ns = ps->start_ticks * (1000000000ull / static_cast<uint64_t>(sysconf(_SC_CLK_TCK)));
    e.start_ns = boot_ns > suspend_ns ? boot_ns - suspend_ns : 0;
    e.ns_pid = static_cast<uint32_t>(read_ns_pid(static_cast<int>(pid), proc_root));
    struct stat st {};
    if (stat((entry.path() / "ns/pid").c_str(), &st) == 0) e.pidns_ino = static_cast<uint32_t>(st.st_ino);
    auto exe = fs::read_symlink(entry.path() / "exe", ec);
    copy_cstr(e.filename, ec ? std::string() : exe.string());
    out.push_back(OwnedRecord::of(e));
  }
  return out;
}

}  // namespace gputrace
