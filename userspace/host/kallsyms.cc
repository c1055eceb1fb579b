#include "userspace/host/kallsyms.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace gputrace {

Kallsyms Kallsyms::load(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str());
}

Kallsyms Kallsyms::parse(std::string_view text) {
  Kallsyms k;
  while (!text.empty()) {
    auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    // "ffffffff81000000 T _stext [module]"
    uint64_t addr = 0;
    auto r = std::from_chars(line.data(), line.data() + line.size(), addr, 16);
    if (r.ec != std::errc() || line.size() < 20 || addr == 0) continue;  // 0: kptr_restrict hides addresses
    char type = line[17];
    if (type != 't' && type != 'T' && type != 'w' && type != 'W') continue;  // functions only
    std::string_view name = line.substr(19);
    name = name.substr(0, name.find_first_of(" \t"));
    k.symbols_.push_back({addr, static_cast<uint32_t>(k.names_.size())});
    k.names_.append(name);
    k.names_.push_back('\0');
  }
  std::stable_sort(k.symbols_.begin(), k.symbols_.end(), [](const Symbol& a, const Symbol& b) { return a.addr < b.addr; });
  return k;
}

Kallsyms::Resolved Kallsyms::resolve(uint64_t ip) const {
  auto it = std::upper_bound(symbols_.begin(), symbols_.end(), ip, [](uint64_t v, const Symbol& s) { return v < s.addr; });
  if (it == symbols_.begin()) return {};
  --it;
  return {std::string_view(names_.data() + it->name_off), ip - it->addr};
}

}  // namespace gputrace
