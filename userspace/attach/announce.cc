#include "userspace/attach/announce.h"

#include "userspace/attach/library_control.h"
#include "userspace/util/log.h"

#include <dirent.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace gputrace::attach {
namespace {

constexpr const char* kPrefix = "@gputrace-cupti.";

std::string read_link(const std::string& path) {
  char buf[64] = {};
  const ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

std::vector<std::string> control_socket_names(const std::string& text) {
  std::vector<std::string> names;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    // Num RefCount Protocol Flags Type St Inode Path; a listener has __SO_ACCEPTCON (0x10000).
    std::istringstream f(line);
    std::string num, refs, proto, flags, type, state, inode, path;
    if (!(f >> num >> refs >> proto >> flags >> type >> state >> inode >> path)) continue;
    if (path.rfind(kPrefix, 0) != 0 || (std::strtoul(flags.c_str(), nullptr, 16) & 0x10000) == 0) continue;
    names.push_back(path.substr(1));
  }
  return names;
}

std::vector<ControlSocket> find_control_sockets() {
  std::vector<ControlSocket> found;
  std::set<std::string> namespaces;
  DIR* proc = ::opendir("/proc");
  while (dirent* e = proc ? ::readdir(proc) : nullptr) {
    const int pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    const std::string ns = read_link(fmt::format("/proc/{}/ns/net", pid));
    if (ns.empty() || !namespaces.insert(ns).second) continue;  // one look per namespace
    std::ifstream unix_table(fmt::format("/proc/{}/net/unix", pid));
    std::stringstream text;
    text << unix_table.rdbuf();
    for (std::string& name : control_socket_names(text.str())) found.push_back({pid, std::move(name)});
  }
  if (proc) ::closedir(proc);
  return found;
}

size_t announce_to_attached_libraries() {
  size_t answered = 0;
  for (const ControlSocket& s : find_control_sockets()) {
    auto control = LibraryControl::connect(s.pid, s.name);
    if (!control) continue;
    if (control->request(GT_ATTACH_ANNOUNCE, 0, std::chrono::milliseconds(500))) ++answered;
  }
  if (answered) log_v1("asked {} attached injection libraries to announce themselves", answered);
  return answered;
}

}  // namespace gputrace::attach
