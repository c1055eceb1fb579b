// `gputrace attach --pid PID` and `gputrace detach --pid PID`: GPU timelines of a process that
// is already running, without restarting it (docs/cupti.md, "Attaching to a running process").
#include "userspace/attach/attach_service.h"
#include "userspace/cli/commands.h"
#include "userspace/cli/options.h"
#include "userspace/gpu/injection_env.h"
#include "userspace/util/log.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace gputrace {
namespace {

constexpr const char* kAttachHelp = R"(usage: gputrace attach --pid PID [--duration D] [--api] [--memory]

Starts GPU tracing in a process that is already running, without restarting it: gputrace
stops one idle thread of PID for about a millisecond (ptrace), makes it start a thread
that loads the CUPTI injection library and calls its attach entry, and lets it go. The
library then sends the process's kernels, copies and memsets to every gputrace on this host
(`gputrace daemon`, `top`, `record`), like a process started with CUDA_INJECTION64_PATH.

It traces while this command runs: on Ctrl-C, SIGTERM, --duration, or if this command is
killed, the library flushes, disables its activity kinds, gives CUPTI back and stops its
thread (it stays loaded, idle). `gputrace detach --pid PID` stops it from elsewhere. If the
library is attached already, attach only asks it to announce itself again.

Refused, with the reason and the process untouched, when: PID has no CUDA driver loaded;
CUPTI is held by another tool (named); ptrace is forbidden (Yama ptrace_scope, capabilities,
a security module); seccomp forbids what attaching does; no thread is idle in a system call
the kernel restarts by itself (one blocked in epoll_wait would see EINTR); or another
build of the library is loaded. docs/cupti.md says what each means.

options:
  --pid PID       the process (its id as the host sees it)
  --duration D    detach after D (e.g. 30s, 5m); default: until Ctrl-C or PID exits
  --api           also trace CUDA runtime and driver API calls
  --memory        also trace device memory allocations and releases
The library's guards take their settings from GPUTRACE_CUPTI_* variables in this command's
environment (GPUTRACE_CUPTI_MAX_RECORDS_PER_S, ..., docs/cupti.md).
)";

constexpr const char* kDetachHelp = R"(usage: gputrace detach --pid PID

Makes the injection library that `gputrace attach` (or record/top --pid) started in PID stop
now, whoever attached it: it flushes, disables its activity kinds, gives CUPTI back and
stops its thread; it stays loaded, idle. A process traced since it started
(CUDA_INJECTION64_PATH) cannot be detached.
)";

Result<pid_t> pid_from(const Options& o) {
  auto v = o.get("pid");
  if (!v) return fail("--pid PID is required");
  auto pid = parse_pid(*v);
  if (!pid) return fail("--pid {}", pid.error().message);
  return *pid;
}

bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

// Holds the lease until told to stop, the duration passes, the process exits or the library
// lets go (detached from elsewhere). Says which.
void hold(const attach::AttachLease& lease, std::optional<std::chrono::nanoseconds> duration) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    if (stop_requested()) return (void)std::fprintf(stderr, "gputrace: detaching (signal)\n");
    if (duration && std::chrono::steady_clock::now() - start >= *duration)
      return (void)std::fprintf(stderr, "gputrace: detaching (--duration)\n");
    if (!process_alive(lease.pid)) return (void)std::fprintf(stderr, "gputrace: process %d exited\n", lease.pid);
    if (lease.control) {
      pollfd p{lease.control->fd(), POLLIN, 0};
      if (::poll(&p, 1, 200) > 0 && (p.revents & (POLLIN | POLLHUP))) {
        char buf[512];
        if (::recv(p.fd, buf, sizeof(buf), MSG_DONTWAIT) == 0)
          return (void)std::fprintf(stderr, "gputrace: the library detached (gputrace detach, or it exited)\n");
      }
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
}

}  // namespace

int cmd_attach(const Args& args) {
  Options o;
  o.value("pid").value("duration").flag("api").flag("memory").flag("help", 'h');
  if (auto r = o.parse(args); !r) {
    log_error("{}", r.error().describe());
    return 2;
  }
  if (o.has("help")) return std::fputs(kAttachHelp, stdout), 0;
  auto pid = pid_from(o);
  if (!pid) return log_error("{}", pid.error().describe()), 2;
  std::optional<std::chrono::nanoseconds> duration;
  if (auto d = o.get("duration")) {
    auto parsed = parse_duration(*d);
    if (!parsed) return log_error("--duration: {}", parsed.error().describe()), 2;
    duration = *parsed;
  }
  if (geteuid() != 0) log_hint("attaching needs ptrace access to the process: run gputrace as root if it is refused");
  auto library = find_injection_library();
  if (!library) return log_error("{}", library.error().describe()), 1;
  install_stop_handlers();
  attach::AttachSettings settings{*library, attach::library_options(kCuptiSocketPath, o.has("api"), o.has("memory"))};
  auto lease = attach::attach_gpu(*pid, settings);
  if (!lease) {
    log_error("not attached: {}", lease.error().describe());
    return 1;
  }
  const attach::Injection& in = lease->injection;
  if (in.started_now)
    std::fprintf(stderr, "gputrace: attached to process %d: library %s, thread %d stopped for %.2f ms\n", *pid,
                 in.loaded_as.empty() ? "already loaded, started again" : ("loaded from " + in.loaded_as).c_str(),
                 in.stopped_tid, static_cast<double>(in.stopped.count()) / 1000.0);
  else
    std::fprintf(stderr, "gputrace: process %d: %s; asked it to announce itself again\n", *pid, in.message.c_str());
  if (lease->control)
    std::fprintf(stderr, "gputrace: library in process %d: %s\n", *pid, attach::describe_reply(lease->status).c_str());
  if (!attach::copy_probe_path(*pid, *library).empty())
    log_hint("process {} loaded a copy of the library (it cannot see gputrace's file): `gputrace top --pid {}` and "
             "`record --pid {}` read it; a daemon started before does not",
             *pid, *pid, *pid);
  std::fflush(stderr);
  hold(*lease, duration);
  return 0;
}

int cmd_detach(const Args& args) {
  Options o;
  o.value("pid").value("timeout").flag("help", 'h');
  if (auto r = o.parse(args); !r) return log_error("{}", r.error().describe()), 2;
  if (o.has("help")) return std::fputs(kDetachHelp, stdout), 0;
  auto pid = pid_from(o);
  if (!pid) return log_error("{}", pid.error().describe()), 2;
  auto library = find_injection_library();
  if (!library) return log_error("{}", library.error().describe()), 1;
  auto done = attach::detach_gpu(*pid, *library, std::chrono::milliseconds(5000));
  if (!done) return log_error("{}", done.error().describe()), 1;
  std::fprintf(stderr, "gputrace: process %d: %s\n", *pid, done->c_str());
  return 0;
}

}  // namespace gputrace
