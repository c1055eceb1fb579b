// bring_in_library: makes a running process load libgputrace_cupti.so and start tracing its
// GPU (bpf/gpu_attach.h), or finds it there already, after checking everything that could
// make attaching unsafe or pointless, each refusal with its reason and the process untouched:
// no such process, a zombie, stopped, already traced; ptrace refused (Yama, capabilities,
// dumpable, LSM); no CUDA driver loaded; another build of the library loaded; shadow stacks;
// strict seccomp, or a filter forbidding what attaching does; no thread idle enough to stop.
#pragma once

#include "userspace/util/result.h"

extern "C" {
#include "bpf/gpu.h"
#include "bpf/gpu_attach.h"
}

#include <sys/types.h>

#include <chrono>
#include <string>

namespace gputrace::attach {

struct AttachSettings {
  std::string library;  // gputrace's libgputrace_cupti.so
  std::string options;  // the library's settings, "NAME=VALUE\n" lines (docs/cupti.md)
  std::chrono::milliseconds lease_grace{10'000};  // the library detaches if no lease comes
  std::chrono::milliseconds answer_limit{30'000};  // for the library to load and start
};

struct Injection {
  bool started_now = false;  // false: found attached (or traced since start): nothing touched
  gt_attach_mode found = GT_ATTACH_MODE_INERT;
  std::string control;  // the library's control socket ("" when traced since start)
  gt_gpu_state state = GT_GPU_STATE_ACTIVE;
  int cupti_result = 0;
  std::string holder, message;
  std::string loaded_as;  // the path dlopen() got ("/proc/self/fd/N": a memfd copy); "" when loaded before
  pid_t stopped_tid = 0;
  std::chrono::microseconds stopped{0};  // how long that thread was held
};

Result<Injection> bring_in_library(pid_t pid, const AttachSettings& settings);

// Whether `pid` sees gputrace's file at the same path (same inode through /proc/PID/root).
bool process_sees_file(pid_t pid, const std::string& path);

}  // namespace gputrace::attach
