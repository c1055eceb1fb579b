// ProcessView: what /proc says about one process that GC tracing needs — its executable,
// the files it maps, its pid inside its own pid namespace — with every path resolved through
// /proc/PID/root so that processes in other mount namespaces (containers) read the same way.
#pragma once

#include "userspace/util/result.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gputrace::gc {

// Identity of a file as the kernel (and its uprobes) sees it: device and inode from maps.
struct FileId {
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  uint64_t inode = 0;
  auto operator<=>(const FileId&) const = default;
};

struct MappedFile {
  std::string path;  // as the process sees it (inside its mount namespace)
  FileId id;
};

struct ProcessView {
  int pid = 0;           // host pid
  int ns_pid = 0;        // pid in the process's own pid namespace (== pid outside containers)
  uint64_t start_ticks = 0;  // /proc/PID/stat starttime: tells a reused pid apart
  std::string comm;
  std::string exe;       // as the process sees it; empty for kernel threads
  bool exe_deleted = false;
  std::vector<MappedFile> files;  // file-backed mappings, each file once

  // A path the tracer can open and attach to: /proc/PID/root/<path>, or /proc/PID/exe for an
  // executable that was replaced on disk after the process started.
  std::string host_path(std::string_view inner) const;
  std::string exe_host_path() const;
  const MappedFile* exe_mapping() const;
  const MappedFile* find_by_basename_prefix(std::string_view prefix) const;
};

Result<ProcessView> read_process(int pid);

// Numeric entries of /proc, ascending.
std::vector<int> list_pids();

std::string_view basename_of(std::string_view path);

}  // namespace gputrace::gc
