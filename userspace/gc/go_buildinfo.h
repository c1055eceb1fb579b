// Go build information: which Go release built a binary, read from its .go.buildinfo section.
//
// The release decides how gputrace reads the runtime's arguments: Go 1.17 moved amd64 to a
// register ABI (RAX, RBX, RCX, ...), and Go 1.21 replaced stopTheWorld's reason string with
// the stwReason enum, which stopTheWorldWithSema then receives too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace gputrace::gc {

struct GoVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;

  // "go1.19.8", "go1.22rc1", "go1.21.0-bigcorp": nullopt when it is not a Go release string.
  static std::optional<GoVersion> parse(std::string_view text);
  bool at_least(int want_major, int want_minor) const {
    return major > want_major || (major == want_major && minor >= want_minor);
  }
  bool register_abi() const { return at_least(1, 17); }
  bool stw_reason_enum() const { return at_least(1, 21); }
};

// Reads `size` bytes at virtual address `vaddr` of the same ELF file; empty when unmapped.
using VaddrReader = std::function<std::span<const std::byte>(uint64_t vaddr, size_t size)>;

// The version string ("go1.19.8") in a .go.buildinfo section. Go 1.18+ stores it inline;
// older releases store pointers to string headers, which `read` resolves.
std::optional<std::string> parse_go_buildinfo(std::span<const std::byte> section, const VaddrReader& read);

}  // namespace gputrace::gc
