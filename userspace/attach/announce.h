// announce_to_attached_libraries: what a live session (top, record, daemon) does once its GPU
// probes are in place, so that injection libraries that `gputrace attach` started before it
// send their kernel names, devices and status again: it finds their control sockets (abstract
// names "@gputrace-cupti.*" in /proc/PID/net/unix of every network namespace on the host) and
// asks each to announce itself. No process is stopped or read; a library that does not answer
// within a moment is skipped (it re-announces every 5 s anyway).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace gputrace::attach {

struct ControlSocket {
  int pid = 0;       // a process of the network namespace the name lives in
  std::string name;  // without the leading '@'
};

// The control sockets /proc lists, one namespace at a time.
std::vector<ControlSocket> find_control_sockets();
// Parses /proc/net/unix text: the names of listening gputrace control sockets.
std::vector<std::string> control_socket_names(const std::string& proc_net_unix);

// Returns how many libraries answered.
size_t announce_to_attached_libraries();

}  // namespace gputrace::attach
