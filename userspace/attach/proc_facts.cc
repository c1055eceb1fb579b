#include "userspace/attach/proc_facts.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <sstream>

namespace gputrace::attach {
namespace {

// Reads a whole /proc file; the errno of the open or read on failure.
Result<std::string> slurp(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) return fail_errno(errno, "cannot read {}", path);
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  const int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err) return fail_errno(err, "cannot read {}", path);
  return text;
}

uint64_t hex(const std::string& s) { return std::strtoull(s.c_str(), nullptr, 16); }

// "Key:\tvalue" lines of a status file.
template <class F>
void for_each_status_line(const std::string& text, F&& f) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t v = colon + 1;
    while (v < line.size() && (line[v] == ' ' || line[v] == '\t')) ++v;
    f(line.substr(0, colon), line.substr(v));
  }
}

}  // namespace

std::string Mapping::map_file(pid_t pid) const {
  char name[96];
  std::snprintf(name, sizeof(name), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, start, end);
  return name;
}

std::optional<Mapping> parse_maps_line(const std::string& line) {
  Mapping m;
  char perms[8] = {};
  unsigned long long start = 0, end = 0, offset = 0, inode = 0;
  int path_at = 0;
  if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %*x:%*x %llu %n", &start, &end, perms, &offset, &inode, &path_at) < 5)
    return std::nullopt;
  m.start = start;
  m.end = end;
  m.offset = offset;
  m.inode = inode;
  m.perms = perms;
  if (path_at > 0 && static_cast<size_t>(path_at) <= line.size()) m.path = line.substr(static_cast<size_t>(path_at));
  return m;
}

std::optional<ThreadSyscall> parse_syscall(const std::string& text) {
  ThreadSyscall s;
  if (text.rfind("running", 0) == 0) return s;
  std::istringstream in(text);
  std::string nr;
  if (!(in >> nr)) return std::nullopt;
  s.running = false;
  s.nr = std::strtol(nr.c_str(), nullptr, 10);
  if (s.nr < 0) {
    // "-1 SP PC": blocked, but not in a system call.
    std::string sp, pc;
    if (!(in >> sp >> pc)) return std::nullopt;
    s.sp = hex(sp);
    s.pc = hex(pc);
    return s;
  }
  std::string word;
  for (auto& a : s.args) {
    if (!(in >> word)) return std::nullopt;
    a = hex(word);
  }
  std::string sp, pc;
  if (!(in >> sp >> pc)) return std::nullopt;
  s.sp = hex(sp);
  s.pc = hex(pc);
  return s;
}

Result<ProcessFacts> read_process(pid_t pid) {
  auto text = slurp("/proc/" + std::to_string(pid) + "/status");
  if (!text) return tl::unexpected(text.error());
  ProcessFacts p;
  p.pid = pid;
  for_each_status_line(*text, [&](const std::string& key, const std::string& value) {
    if (key == "Name") p.comm = value;
    else if (key == "State") p.state = value.empty() ? '?' : value[0];
    else if (key == "TracerPid") p.tracer = std::atoi(value.c_str());
    else if (key == "Seccomp") p.seccomp = std::atoi(value.c_str());
    else if (key == "ShdPnd") p.shared_pending_signals = hex(value);
    else if (key == "x86_Thread_features") p.shadow_stack = value.find("shstk") != std::string::npos;
    else if (key == "Uid") {
      std::istringstream in(value);
      unsigned real = 0, effective = 0;
      in >> real >> effective;
      p.uid = effective;
    } else if (key == "NSpid") {
      std::istringstream in(value);
      for (pid_t v; in >> v;) p.ns_pid = v;
    }
  });
  if (p.ns_pid == 0) p.ns_pid = pid;
  return p;
}

Result<std::vector<Mapping>> read_maps(pid_t pid) {
  auto text = slurp("/proc/" + std::to_string(pid) + "/maps");
  if (!text) return tl::unexpected(text.error());
  std::vector<Mapping> maps;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);)
    if (auto m = parse_maps_line(line)) maps.push_back(std::move(*m));
  return maps;
}

Result<ThreadFacts> read_thread(pid_t pid, pid_t tid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid);
  ThreadFacts t;
  t.tid = tid;
  auto sys = slurp(dir + "/syscall");  // ptrace's own permission check
  if (!sys) return tl::unexpected(sys.error());
  auto parsed = parse_syscall(*sys);
  if (!parsed) return fail("cannot parse {}/syscall: '{}'", dir, *sys);
  t.syscall = *parsed;
  auto status = slurp(dir + "/status");
  if (!status) return tl::unexpected(status.error());
  for_each_status_line(*status, [&](const std::string& key, const std::string& value) {
    if (key == "Name") t.comm = value;
    else if (key == "State") t.state = value.empty() ? '?' : value[0];
    else if (key == "voluntary_ctxt_switches") t.voluntary_switches = std::strtoull(value.c_str(), nullptr, 10);
    else if (key == "nonvoluntary_ctxt_switches") t.involuntary_switches = std::strtoull(value.c_str(), nullptr, 10);
    else if (key == "SigBlk") t.blocked_signals = hex(value);
    else if (key == "SigPnd") t.pending_signals = hex(value);
  });
  return t;
}

Result<std::vector<ThreadFacts>> read_threads(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return fail_errno(errno, "cannot list {}", dir);
  std::vector<pid_t> tids;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') tids.push_back(std::atoi(e->d_name));
  ::closedir(d);
  std::vector<ThreadFacts> threads;
  for (pid_t tid : tids) {
    auto t = read_thread(pid, tid);
    if (t) {
      threads.push_back(std::move(*t));
    } else if (t.error().errnum != ENOENT && t.error().errnum != ESRCH) {
      return tl::unexpected(t.error());  // gone meanwhile is fine; refused is not
    }
  }
  return threads;
}

const Mapping* find_library(const std::vector<Mapping>& maps, const std::string& prefix) {
  for (const Mapping& m : maps) {
    const size_t slash = m.path.rfind('/');
    if (slash == std::string::npos) continue;
    if (m.path.compare(slash + 1, prefix.size(), prefix) == 0) return &m;
  }
  return nullptr;
}

const Mapping* mapping_at(const std::vector<Mapping>& maps, uint64_t address) {
  for (const Mapping& m : maps)
    if (address >= m.start && address < m.end) return &m;
  return nullptr;
}

}  // namespace gputrace::attach
