#include "userspace/cli/cli.h"

#include "userspace/cli/commands.h"
#include "userspace/util/log.h"

#include <bpf/libbpf.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>

namespace gputrace {
namespace {

constexpr const char* kUsage = R"(usage: gputrace [-v|-vv] [COMMAND] [ARGS...]

eBPF system tracer for GPU/ML inference hosts: DMA mapping leaks, IOMMU faults,
PCIe health, on one clock. Run as root.

commands:
  (none)        `gputrace top` on a terminal, `gputrace live` when output is not a terminal
  top           the live view: devices, processes (GC pauses, DMA, leaks), findings;
                --batch for plain-text snapshots, --replay CAPTURE to show a capture
  live          plain-text summary of this host, refreshed every 2 s
  doctor        what attaches on this kernel and why not; IOMMU mode; GPUs and PCIe links
  record        record events to a capture file:  record -o FILE [--duration D]
  report        analyse a capture file:           report FILE [--format text|json|markdown|html|perfetto]
                [-o OUT] or report files:         report FILE --out-dir DIR
  daemon        export to Prometheus (/metrics, textfile) and OTLP (file, HTTP), every interval
  attach        start GPU tracing in a running process:  attach --pid PID (no restart)
  detach        stop it again:                           detach --pid PID

Run `gputrace COMMAND --help` for a command's options.
)";

std::atomic<bool> g_stop{false};

int libbpf_to_log(enum libbpf_print_level level, const char* fmt, va_list ap) {
  char buf[1024];
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  std::string_view s(buf);
  while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  // libbpf warns about every program whose load fails; the loader reports those as notes
  log(level == LIBBPF_WARN ? LogLevel::V1 : LogLevel::Debug, "libbpf: {}", s);
  return 0;
}

}  // namespace

bool stop_requested() { return g_stop.load(); }

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = true; };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // A closed terminal or a hung-up session: stop as cleanly as on SIGTERM (the daemon
  // replaces this with its reload handler after).
  sigaction(SIGHUP, &sa, nullptr);
}

int run_guarded(std::string_view command, const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    log_error("{}: stopped on an unexpected error, after writing what it had: {} (a bug: please report it)", command,
              e.what());
  } catch (...) {
    log_error("{}: stopped on an unexpected error, after writing what it had (a bug: please report it)", command);
  }
  return 1;
}

int finish_stdout(int status) {
  if (std::fflush(stdout) == 0 && !std::ferror(stdout)) return status;
  log_error("cannot write to standard output: {}", std::strerror(errno));
  return status == 0 ? 1 : status;
}

int run_cli(int argc, char** argv) {
  Args args(argv + 1, argv + argc);
  int verbosity = 0;
  while (!args.empty() && (args.front() == "-v" || args.front() == "-vv")) {
    verbosity += args.front() == "-vv" ? 2 : 1;
    args.erase(args.begin());
  }
  set_log_verbosity(verbosity);
  libbpf_set_print(libbpf_to_log);
  if (!args.empty() && (args.front() == "-h" || args.front() == "--help" || args.front() == "help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!args.empty() && args.front() == "--version") {
    std::puts("gputrace " GPUTRACE_VERSION);
    return finish_stdout(0);
  }
  // No command: the screen where a person can see it, the plain summary into logs and pipes.
  const bool terminal = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
  const bool has_command = !args.empty() && args.front().rfind("-", 0) != 0;
  std::string command = has_command ? args.front() : terminal ? "top" : "live";
  if (has_command) args.erase(args.begin());
  int (*run)(const Args&) = nullptr;
  if (command == "top") run = cmd_top;
  if (command == "live") run = cmd_live;
  if (command == "doctor") run = cmd_doctor;
  if (command == "record") run = cmd_record;
  if (command == "report") run = cmd_report;
  if (command == "daemon") run = cmd_daemon;
  if (command == "attach") run = cmd_attach;
  if (command == "detach") run = cmd_detach;
  if (!run) {
    std::fprintf(stderr, "gputrace: unknown command '%s'\n\n%s", command.c_str(), kUsage);
    return 2;
  }
  return finish_stdout(run_guarded(command, [&] { return run(args); }));
}

}  // namespace gputrace
