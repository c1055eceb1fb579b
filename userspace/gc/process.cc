#include "userspace/gc/process.h"

#include "userspace/host/procfs.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

namespace gputrace::gc {
namespace {

constexpr std::string_view kDeletedSuffix = " (deleted)";

std::string read_link(const std::string& path) {
  char buf[4096];
  const ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

void read_maps(int pid, std::vector<MappedFile>& out) {
  std::ifstream in(fmt::format("/proc/{}/maps", pid));
  std::string line;
  std::set<FileId> seen;
  while (std::getline(in, line)) {
    // start-end perms offset dev inode path
    unsigned major = 0, minor = 0;
    unsigned long long inode = 0;
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%*s %*s %*s %x:%x %llu %n", &major, &minor, &inode, &path_at) < 3) continue;
    if (inode == 0 || path_at <= 0 || static_cast<size_t>(path_at) >= line.size() || line[path_at] != '/') continue;
    const FileId id{major, minor, inode};
    if (!seen.insert(id).second) continue;
    std::string path = line.substr(static_cast<size_t>(path_at));
    if (path.ends_with(kDeletedSuffix)) path.resize(path.size() - kDeletedSuffix.size());
    out.push_back({std::move(path), id});
  }
}

}  // namespace

std::string_view basename_of(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string ProcessView::host_path(std::string_view inner) const {
  return pid > 0 ? fmt::format("/proc/{}/root{}", pid, inner) : std::string(inner);
}

std::string ProcessView::exe_host_path() const {
  return exe_deleted && pid > 0 ? fmt::format("/proc/{}/exe", pid) : host_path(exe);
}

const MappedFile* ProcessView::exe_mapping() const {
  for (const auto& f : files)
    if (f.path == exe) return &f;
  return nullptr;
}

const MappedFile* ProcessView::find_by_basename_prefix(std::string_view prefix) const {
  for (const auto& f : files)
    if (basename_of(f.path).starts_with(prefix)) return &f;
  return nullptr;
}

Result<ProcessView> read_process(int pid) {
  ProcessView p;
  p.pid = pid;
  p.exe = read_link(fmt::format("/proc/{}/exe", pid));
  if (p.exe.empty()) return fail_errno(errno, "cannot read /proc/{}/exe (kernel thread, or the process exited)", pid);
  if (p.exe.ends_with(kDeletedSuffix)) {
    p.exe.resize(p.exe.size() - kDeletedSuffix.size());
    p.exe_deleted = true;
  }
  if (auto stat = read_proc_stat(pid)) {
    p.start_ticks = stat->start_ticks;
    p.comm = std::move(stat->comm);
  }
  p.ns_pid = read_ns_pid(pid);
  read_maps(pid, p.files);
  return p;
}

std::vector<int> list_pids() {
  std::vector<int> pids;
  DIR* dir = ::opendir("/proc");
  if (!dir) return pids;
  while (dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long v = std::strtol(e->d_name, &end, 10);
    if (end && *end == '\0' && v > 0) pids.push_back(static_cast<int>(v));
  }
  ::closedir(dir);
  std::sort(pids.begin(), pids.end());
  return pids;
}

}  // namespace gputrace::gc
