#include "host/container_id.h"

#include <cctype>
#include <fstream>
#include <sstream>

namespace gputrace {

std::string container_id_from_cgroup(std::string_view text) {
  // A container id is 64 hex digits standing alone in a path component (between '/', '-',
  // '.' or the line's ends): look for the first such run.
  size_t run = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    const bool hex = i < text.size() && std::isxdigit(static_cast<unsigned char>(text[i])) &&
                     !std::isupper(static_cast<unsigned char>(text[i]));
    if (hex) {
      ++run;
      continue;
    }
    if (run == 64) {
      const size_t begin = i - run;
      const char before = begin > 0 ? text[begin - 1] : '/';
      const char after = i < text.size() ? text[i] : '\n';
      if ((before == '/' || before == '-') && (after == '.' || after == '/' || after == '\n'))
        return std::string(text.substr(begin, 12));
    }
    run = 0;
  }
  return {};
}

std::string container_id_of(int pid, const std::string& proc_root) {
  std::ifstream in(proc_root + "/" + std::to_string(pid) + "/cgroup");
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  return container_id_from_cgroup(text.str());
}

}  // namespace gputrace
