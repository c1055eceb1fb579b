// Finding libgputrace_cupti.so and the environment that injects it into a CUDA application
// (`gputrace record -- CMD`, or a service's unit file: docs/cupti.md).
#pragma once

#include "userspace/util/result.h"

#include <string>
#include <vector>

namespace gputrace {

// Where live sessions listen for batches that no USDT probe carries.
inline constexpr const char* kCuptiSocketPath = "/run/gputrace/cupti.sock";
// `record -- CMD` gives its command a socket of its own, beside it: a daemon serving the
// shared one would otherwise receive CMD's batches.
inline std::string record_socket_path(int recorder_pid) {
  return "/run/gputrace/record-" + std::to_string(recorder_pid) + ".sock";
}

struct InjectionOptions {
  std::string library_path;  // empty: find_injection_library()
  std::string socket_path = kCuptiSocketPath;
  bool api = false;     // also trace CUDA runtime/driver API calls
  bool memory = false;  // also trace device memory allocations
  unsigned flush_ms = 0;  // 0: the library's default
};

// First of: $GPUTRACE_CUPTI_LIB; the library of this build tree when gputrace runs from it;
// the installed library; the one in this build tree. Each candidate must be a regular file
// (root hands this path to other processes).
Result<std::string> find_injection_library();

// "NAME=VALUE" entries to add to the application's environment.
Result<std::vector<std::string>> injection_env(const InjectionOptions& options);

}  // namespace gputrace
