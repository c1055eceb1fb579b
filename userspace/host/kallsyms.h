// Kallsyms: kernel symbol table from /proc/kallsyms, for naming stack frames.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gputrace {

class Kallsyms {
 public:
  static Kallsyms load(const std::string& path = "/proc/kallsyms");
  static Kallsyms parse(std::string_view text);

  struct Resolved {
    std::string_view name;  // empty when the address is below every symbol
    uint64_t offset = 0;
  };
  Resolved resolve(uint64_t ip) const;
  size_t size() const { return symbols_.size(); }

 private:
  struct Symbol {
    uint64_t addr;
    uint32_t name_off;
  };
  std::vector<Symbol> symbols_;  // sorted by address
  std::string names_;            // NUL-separated, referenced by name_off
};

}  // namespace gputrace
