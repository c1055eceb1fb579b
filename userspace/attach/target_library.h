// What gputrace needs to know about the libraries of a process it attaches to: whether the
// injection library is already loaded there (the same build as gputrace's, found by build id
// so that a memfd copy counts too) and in which mode (gt_attach_info, read from the process's
// memory), and where the libc functions the attach code calls live in that process.
#pragma once

#include "userspace/attach/elf_symbols.h"
#include "userspace/attach/proc_facts.h"
#include "userspace/util/result.h"

extern "C" {
#include "bpf/gpu_attach.h"
}

#include <optional>
#include <string>
#include <vector>

namespace gputrace::attach {

struct LoadedLibrary {
  Mapping mapping;        // one of its mappings
  gt_attach_info info{};  // its exported state, read from the process
  uint64_t entry = 0;     // gputrace_cupti_attach in the process
  bool same_build = true;
};

// The injection library in `pid`, if loaded. `ours`: the library gputrace would load.
// Fails when a library is there but cannot be read (another build without the attach ABI
// is reported as same_build = false).
Result<std::optional<LoadedLibrary>> find_loaded_library(pid_t pid, const std::vector<Mapping>& maps,
                                                         const std::string& ours);

// The functions the attach code calls, in `pid`: pthread_create, pthread_self,
// pthread_detach, dlopen, dlsym, dlerror, close. glibc 2.34+ has all of them in libc.so.6;
// older ones split them over libpthread.so.0 and libdl.so.2.
struct LibcFunctions {
  uint64_t pthread_create = 0, pthread_self = 0, pthread_detach = 0, dlopen = 0, dlsym = 0, dlerror = 0, close = 0;
};
Result<LibcFunctions> find_libc_functions(pid_t pid, const std::vector<Mapping>& maps);

}  // namespace gputrace::attach
