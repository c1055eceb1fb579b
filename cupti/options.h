// Options: the library's settings, read once from the served process's environment (started
// by CUDA_INJECTION64_PATH) or from the "NAME=VALUE" lines `gputrace attach` hands over.
//
//   GPUTRACE_CUPTI_SOCKET=PATH   the daemon's SOCK_SEQPACKET socket (default
//                                /run/gputrace/cupti.sock; empty: USDT only)
//   GPUTRACE_CUPTI_FLUSH_MS=N    how often completed CUPTI buffers are collected (default 100)
//   GPUTRACE_CUPTI_BUFFER_KB=N   size of each CUPTI activity buffer (default 1024)
//   GPUTRACE_CUPTI_API=1         also trace CUDA runtime and driver API calls
//   GPUTRACE_CUPTI_MEMORY=1      also trace device memory allocations and releases
// Guards against tracing costing the application more than it should (docs/cupti.md):
//   GPUTRACE_CUPTI_MAX_RECORDS_PER_S=N         records shipped per second, whole process
//                                              (default 1000000; 0: no limit)
//   GPUTRACE_CUPTI_MAX_THREAD_RECORDS_PER_S=N  API records per second of one thread (100000)
//   GPUTRACE_CUPTI_MAX_BUFFERS=N               activity buffers handed to CUPTI at once (64)
//   GPUTRACE_CUPTI_DEVICE_BUFFERS=N            CUPTI's device buffer pool per context (32;
//                                              0: CUPTI's own limit, 250)
//   GPUTRACE_CUPTI_OVERHEAD=0                  do not record CUPTI's own overhead
//   GPUTRACE_CUPTI_GRAPHS=graph                one record per CUDA graph launch instead of
//                                              one per kernel node (default: nodes)
//   GPUTRACE_CUPTI_MAX_SKEW_MS=N               how far a record may start before the latest
//                                              one of its stream and still count as in order (1000)
//
// Flags take 1/true/on/yes and 0/false/off/no (any case). A value that cannot be used (not a
// number, out of range, a socket path longer than sockaddr_un allows, a flag that is neither)
// falls back to the default and leaves one line in `problems`, naming the variable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace gputrace::cupti {

inline constexpr const char* kDefaultSocketPath = "/run/gputrace/cupti.sock";

struct Options {
  std::string socket_path = kDefaultSocketPath;
  unsigned flush_ms = 100;
  size_t buffer_bytes = 1 << 20;
  bool api = false;
  bool memory = false;
  uint32_t max_records_per_s = 1'000'000;
  uint32_t max_thread_records_per_s = 100'000;
  unsigned max_buffers = 64;
  unsigned device_buffers = 32;
  bool overhead = true;
  bool graph_trace = false;  // GPUTRACE_CUPTI_GRAPHS=graph
  unsigned max_skew_ms = 1000;
  std::vector<std::string> problems;  // for stderr, one line each

  // lookup(name): the value, or nullptr when the setting is absent.
  static Options parse(const std::function<const char*(const char*)>& lookup);
  static Options from_environment();
  // "NAME=VALUE" lines, as `gputrace attach` sends them; a line without '=' is a problem.
  static Options from_text(std::string_view lines);
};

}  // namespace gputrace::cupti
