#include "userspace/capture/host_info.h"

#include <sys/utsname.h>

#include <ctime>
#include <fstream>
#include <string>

#ifndef GPUTRACE_VERSION
#define GPUTRACE_VERSION "0.1.0"
#endif

namespace gputrace {
namespace {

uint64_t now_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Brackets a realtime read between two monotonic reads and keeps the tightest bracket of a
// few tries: a preemption between the reads would otherwise skew every date in the report.
void calibrate_clocks(CaptureHostInfo& host) {
  uint64_t best_width = UINT64_MAX;
  for (int attempt = 0; attempt < 16; ++attempt) {
    const uint64_t before = now_ns(CLOCK_MONOTONIC);
    const uint64_t realtime = now_ns(CLOCK_REALTIME);
    const uint64_t after = now_ns(CLOCK_MONOTONIC);
    if (after - before >= best_width) continue;
    best_width = after - before;
    host.start_monotonic_ns = before + best_width / 2;
    host.start_realtime_ns = realtime;
  }
}

}  // namespace

CaptureHostInfo current_host_info() {
  CaptureHostInfo host;
  utsname uts{};
  if (uname(&uts) == 0) {
    host.hostname = uts.nodename;
    host.kernel_release = uts.release;
  }
  host.boot_id = read_first_line("/proc/sys/kernel/random/boot_id");
  host.gputrace_version = GPUTRACE_VERSION;
  calibrate_clocks(host);
  return host;
}

}  // namespace gputrace
