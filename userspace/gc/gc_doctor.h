// What `gputrace doctor` says about GC tracing: for each managed-runtime process on the
// host, whether its pauses can be traced and, if not, why and what to do. Reads /proc and
// ELF files only; loads nothing into the kernel.
#pragma once

#include "userspace/gc/attach_manager.h"
#include "userspace/gc/runtime_detect.h"

#include <string>
#include <vector>

namespace gputrace::gc {

struct GcDiagnosis {
  int pid = 0;
  int ns_pid = 0;
  std::string exe;
  Detection detection;
};

std::vector<GcDiagnosis> diagnose_gc_runtimes(const GcFilter& filter = {});

// One line per process: "pid 4242 (/usr/bin/python3.11): cpython: traceable" or the problem and fix.
std::string format_gc_diagnosis(const std::vector<GcDiagnosis>& diagnoses);

}  // namespace gputrace::gc
