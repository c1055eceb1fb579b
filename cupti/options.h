// Options: the library's settings, read once from the served process's environment.
//
//   GPUTRACE_CUPTI_SOCKET=PATH   the daemon's SOCK_SEQPACKET socket (default
//                                /run/gputrace/cupti.sock; empty: USDT only)
//   GPUTRACE_CUPTI_FLUSH_MS=N    how often completed CUPTI buffers are collected (default 100)
//   GPUTRACE_CUPTI_BUFFER_KB=N   size of each CUPTI activity buffer (default 1024)
//   GPUTRACE_CUPTI_API=1         also trace CUDA runtime and driver API calls
//   GPUTRACE_CUPTI_MEMORY=1      also trace device memory allocations and releases
//
// Flags take 1/true/on/yes and 0/false/off/no (any case). A value that cannot be used (not a
// number, out of range, a socket path longer than sockaddr_un allows, a flag that is neither)
// falls back to the default and leaves one line in `problems`, naming the variable.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace gputrace::cupti {

inline constexpr const char* kDefaultSocketPath = "/run/gputrace/cupti.sock";

struct Options {
  std::string socket_path = kDefaultSocketPath;
  unsigned flush_ms = 100;
  size_t buffer_bytes = 1 << 20;
  bool api = false;
  bool memory = false;
  std::vector<std::string> problems;  // for stderr, one line each

  static Options from_environment();
};

}  // namespace gputrace::cupti
