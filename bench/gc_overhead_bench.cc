// Slowdown of a GC-heavy workload with GC tracing on vs off, from one run: rounds alternate
// untraced and traced (the probes attached before, detached after), and the ratio is of the
// medians, so drifts in machine load hit both sides alike. Measures; asserts nothing.
//
//   gc_overhead_bench ROUNDS -- COMMAND [ARGS...]
#include "userspace/gc/gc_tracer.h"
#include "userspace/loader/shared_maps.h"
#include "userspace/util/log.h"

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

double run_seconds(char** argv) {
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);  // the workload's report is not the measurement
    if (null >= 0) dup2(null, 1);
    execv(argv[0], argv);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fmt::print(stderr, "workload failed (status {})\n", status);
    std::exit(1);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

int drain(void*, void*, size_t) { return 0; }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || std::string(argv[2]) != "--") {
    fmt::print(stderr, "usage: {} ROUNDS -- COMMAND [ARGS...]\n", argv[0]);
    return 2;
  }
  const int rounds = std::atoi(argv[1]);
  char** cmd = argv + 3;
  auto maps = gputrace::SharedMaps::create({});
  if (!maps) {
    fmt::print(stderr, "{}\n", maps.error().describe());
    return 1;
  }
  ring_buffer* ring = ring_buffer__new(maps->bulk_ring_fd(), drain, nullptr, nullptr);
  gputrace::gc::GcOptions options;
  options.filter.exes = {cmd[0]};
  std::vector<double> off, on;
  for (int r = 0; r < rounds; ++r) {
    off.push_back(run_seconds(cmd));
    // The binary is attached for every process (pid -1) before the traced run starts.
    auto tracer = gputrace::gc::GcTracer::start(*maps, options);
    if (!tracer || (*tracer)->attachments().attachments() == 0) {
      fmt::print(stderr, "could not attach to {}: {}\n", cmd[0], tracer ? "no attachment" : tracer.error().describe());
      return 1;
    }
    on.push_back(run_seconds(cmd));
    ring_buffer__consume(ring);
  }
  const double m_off = median(off), m_on = median(on);
  fmt::print("gc_overhead: {} rounds of `{}`: untraced median {:.3f}s, traced median {:.3f}s, slowdown x{:.3f}\n",
             rounds, fmt::join(std::vector<std::string>(cmd, cmd + (argc - 3)), " "), m_off, m_on, m_on / m_off);
  ring_buffer__free(ring);
  return 0;
}
