#include "userspace/host/container_id.h"
#include "userspace/host/procfs.h"

#include <cctype>
#include <fstream>
#include <sstream>

namespace gputrace {
namespace {

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

std::string container_id_from_cgroup(std::string_view text) {
  // lines are "hierarchy-id:controllers:path"; the innermost path component that holds a
  // 64-hex id names the container (a pod's own cgroup has no such id)
  std::string found;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    const size_t c2 = line.find(':', line.find(':') + 1);
    if (c2 == std::string_view::npos) continue;
    std::string_view path = line.substr(c2 + 1);
    size_t start = 0;
    while (start < path.size()) {
      size_t slash = path.find('/', start);
      if (slash == std::string_view::npos) slash = path.size();
      std::string_view part = path.substr(start, slash - start);
      start = slash + 1;
      if (part.ends_with(".scope")) part.remove_suffix(6);
      const size_t dash = part.rfind('-');
      if (dash != std::string_view::npos) part = part.substr(dash + 1);  // docker-, cri-containerd-, crio-, libpod-
      if (is_hex64(part)) found = std::string(part);
    }
    if (!found.empty()) return found;
  }
  return found;
}

std::string container_id_of(uint32_t pid, const std::string& proc_root) {
  auto text = read_proc_file(proc_root + "/" + std::to_string(pid) + "/cgroup");
  return text ? container_id_from_cgroup(*text) : "";
}

}  // namespace gputrace
