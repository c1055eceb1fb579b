// `gputrace record`: live kernel events into a capture file, until a duration passes or
// SIGINT/SIGTERM arrives.
#include "userspace/capture/capture.h"
#include "userspace/capture/host_info.h"
#include "userspace/cli/commands.h"
#include "userspace/cli/pid_attach.h"
#include "userspace/cli/tracing_options.h"
#include "userspace/gpu/injection_env.h"
#include "userspace/session/live_source.h"
#include "userspace/util/log.h"

#include <signal.h>
#include <spawn.h>
#include <unistd.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string_view>

namespace gputrace {
namespace {

constexpr const char* kHelp = R"(usage: gputrace record -o FILE [--duration D] [options] [-- CMD ARGS...]

Records kernel events (DMA-API, IOMMU, faults, AER, swiotlb, processes, GC pauses) and the
GPU activity of processes running the injection library into FILE, a capture that
`gputrace report FILE` analyses. Stops after D (e.g. 30s, 5m) or on Ctrl-C. FILE is created
with mode 0600 and never overwritten. With `-- CMD ARGS`, runs CMD with the CUPTI injection
library in its environment (CUDA_INJECTION64_PATH, docs/cupti.md; a value already set is
replaced), keeps only GPU activity of CMD and the processes it starts, and stops when CMD
exits; stopped first (--duration, Ctrl-C), it sends CMD SIGTERM (SIGKILL after 2 s).
With --pid PID (a running process with the CUDA driver loaded), also starts GPU tracing in
it as `gputrace attach` does, for as long as the recording runs (docs/cupti.md).

options:
  -o, --output FILE      capture file to create (required)
  --duration D           stop after D
  --flush-interval D     write buffered records to FILE at least every D while any wait
                         (default 1s), and sync FILE to disk at most that often: a recorder
                         killed (SIGKILL, OOM killer) loses at most D of records
  --no-attach            with --pid: GC pauses only, no GPU tracing attached to the process
)";

std::string_view env_name(std::string_view entry) { return entry.substr(0, entry.find('=')); }

// This environment with the injection library's variables set: ours replace any the caller
// had (glibc's getenv takes the first of duplicates, so appending would lose to them).
std::vector<std::string> traced_environment(const std::string& socket_path) {
  std::vector<std::string> ours;
  if (auto inj = injection_env(InjectionOptions{.socket_path = socket_path}))
    ours = std::move(*inj);
  else
    log_warning("{} (GPU activity of the command will not be recorded)", inj.error().describe());
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string_view entry(*e);
    auto replaced = std::find_if(ours.begin(), ours.end(), [&](const std::string& o) { return env_name(o) == env_name(entry); });
    if (replaced == ours.end()) {
      env.emplace_back(entry);
    } else if (*replaced != entry) {
      log_warning("replacing {} with {} for the recorded command", entry, *replaced);
    }
  }
  env.insert(env.end(), ours.begin(), ours.end());
  return env;
}

// Starts CMD with the injection library in its environment.
Result<pid_t> spawn_traced(const std::vector<std::string>& argv, const std::string& socket_path) {
  std::vector<std::string> env_strings = traced_environment(socket_path);
  std::vector<char*> args, env;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (auto& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  pid_t pid = 0;
  if (int err = posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), env.data()))
    return fail_errno(err, "cannot run {}", argv[0]);
  return pid;
}

// --flush-interval: how long a record may wait in memory before it is written (default 1 s).
Result<std::chrono::nanoseconds> flush_interval_option(const Options& o) {
  const auto text = o.get("flush-interval");
  if (!text) return std::chrono::nanoseconds(std::chrono::seconds(1));
  auto parsed = parse_duration(*text);
  if (!parsed) return parsed;
  if (*parsed < std::chrono::milliseconds(10) || *parsed > std::chrono::hours(1))
    return fail("'{}' is outside 10ms..1h (every chunk is compressed and synced on its own)", *text);
  return parsed;
}

}  // namespace

// The command must not outlive the recording that was made of it (it would hold the
// caller's terminal or pipe): SIGTERM, two seconds to exit, then SIGKILL.
static void end_command(std::optional<pid_t>& child) {
  if (!child) return;
  int status = 0;
  if (waitpid(*child, &status, WNOHANG) == *child) return;
  kill(*child, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    if (waitpid(*child, &status, WNOHANG) == *child) {
      std::fprintf(stderr, "gputrace: stopped the command (SIGTERM)\n");
      child.reset();
      return;
    }
    usleep(10'000);
  }
  kill(*child, SIGKILL);
  waitpid(*child, &status, 0);
  std::fprintf(stderr, "gputrace: killed the command (it ignored SIGTERM for 2 s)\n");
  child.reset();
}

int cmd_record(const Args& args) {
  Options o;
  o.value("output", 'o').value("duration").value("flush-interval").flag("no-attach").flag("help", 'h');
  declare_tracing_options(o);
  if (auto r = o.parse(args); !r) {
    log_error("{}", r.error().describe());
    return 2;
  }
  if (o.has("help")) {
    std::printf("%s%s", kHelp, kTracingOptionsHelp);
    return 0;
  }
  auto output = o.get("output");
  if (!output) {
    log_error("record needs an output file: gputrace record -o FILE");
    return 2;
  }
  std::optional<std::chrono::nanoseconds> duration;
  if (auto d = o.get("duration")) {
    auto parsed = parse_duration(*d);
    if (!parsed) {
      log_error("--duration: {}", parsed.error().describe());
      return 2;
    }
    duration = *parsed;
  }
  auto flush_interval = flush_interval_option(o);
  if (!flush_interval) {
    log_error("--flush-interval: {}", flush_interval.error().describe());
    return 2;
  }
  auto config = tracing_config(o);
  auto gc = gc_options(o);
  if (!gc) {
    log_error("{}", gc.error().describe());
    return 2;
  }
  if (!config) {
    log_error("{}", config.error().describe());
    return 2;
  }

  if (geteuid() != 0) {
    log_error("gputrace loads BPF programs: run it as root (sudo gputrace record ...)");
    return 1;
  }
  auto writer = CaptureWriter::create(*output, current_host_info());
  if (!writer) {
    log_error("{}", writer.error().describe());
    return 1;
  }
  std::optional<Error> write_error;
  auto sink = [&](const Record& r) {
    if (write_error) return;
    if (auto w = (*writer)->append(r); !w) write_error = w.error();
  };
  install_stop_handlers();
  Features features = Features::probe();
  const bool has_command = !o.after_dashdash().empty();
  if (has_command && o.has("pid") && !o.has("no-attach")) {
    log_error("record takes --pid PID (a running process) or -- CMD (a new one), not both");
    return 2;
  }
  const std::string socket_path = has_command ? record_socket_path(getpid()) : kCuptiSocketPath;
  auto source = LiveSource::start(features, *config, *gc, sink, socket_path);
  if (!source) {
    log_error("{}", source.error().describe());
    return 1;
  }
  size_t attached = 0;
  for (const auto& h : (*source)->tracer().hooks()) attached += h.attached();
  // the vm tier's guest waits for this line before it starts its workload
  std::fprintf(stderr, "gputrace: recording to %s (%zu of %zu hooks attached; Ctrl-C to stop)\n", output->c_str(),
               attached, (*source)->tracer().hooks().size());
  GpuAttachments gpu_attached;
  if (!o.has("no-attach")) gpu_attached.attach(pids_option(o), **source, socket_path, false, false);
  std::optional<pid_t> child;
  if (has_command) {
    auto pid = spawn_traced(o.after_dashdash(), socket_path);
    if (!pid) {
      log_error("{}", pid.error().describe());
      return 1;
    }
    child = *pid;
    // Only the command's GPU activity belongs in its recording. Its fork records are still
    // in the ring (nothing was pumped since the spawn), so the tree misses none of them.
    (*source)->limit_gpu_to_tree(static_cast<uint32_t>(*pid));
  }
  const auto start = std::chrono::steady_clock::now();
  while (!stop_requested() && !write_error) {
    if (child) {
      int status = 0;
      if (waitpid(*child, &status, WNOHANG) == *child) {
        std::fprintf(stderr, "gputrace: %s exited (%s %d)\n", o.after_dashdash()[0].c_str(),
                     WIFEXITED(status) ? "status" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        child.reset();  // reaped: its pid is free for another process, never to be signalled
        break;
      }
    }
    if (duration && std::chrono::steady_clock::now() - start >= *duration) break;
    if (auto r = (*source)->pump(std::chrono::milliseconds(10)); !r) {
      log_error("{}", r.error().describe());
      end_command(child);
      return 1;
    }
    if (auto w = (*writer)->flush_if_due(std::chrono::steady_clock::now(), *flush_interval); !w && !write_error)
      write_error = w.error();
  }
  end_command(child);
  // The libraries attached to let go while the rings are still read: their last buffers
  // and status (detached) are in the recording.
  gpu_attached.release(**source, std::chrono::milliseconds(2000));
  if (auto r = (*source)->stop(); !r) log_error("{}", r.error().describe());
  // A launcher (docker run, srun, a service manager) starts the workload outside CMD's tree:
  // say why the recording has no GPU activity rather than leave it empty without a word.
  if (has_command && (*source)->gpu_stats().batches == 0 && (*source)->gpu_batches_unwanted() > 0)
    log_warning("no GPU activity came from the command's processes, but {} batches came from other processes and "
                "were left out: if the command starts its workload through a launcher, record without -- CMD "
                "(--duration D) to keep every process's",
                (*source)->gpu_batches_unwanted());
  if (auto r = (*writer)->close(); !r && !write_error) write_error = r.error();
  if (write_error) {
    log_error("writing {}: {}", *output, write_error->describe());
    return 1;
  }
  std::fprintf(stderr, "gputrace: wrote %llu records to %s\n",
               static_cast<unsigned long long>((*writer)->records_written()), output->c_str());
  return 0;
}

}  // namespace gputrace
