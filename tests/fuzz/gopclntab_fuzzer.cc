// libFuzzer target: the Go pclntab reader must accept or reject any bytes — as a table, and
// inside an ELF file — without crashing or reading out of bounds, and what it hands out must
// keep its promises (names inside the table, RET offsets inside the file and holding 0xc3).
#include "userspace/gc/go_functions.h"
#include "userspace/gc/gopclntab.h"

#include <gelf.h>
#include <libelf.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace {

using gputrace::gc::GoPclntab;

constexpr std::array<std::string_view, 3> kWanted = {"runtime.stopTheWorldWithSema", "runtime.startTheWorldWithSema",
                                                     "runtime.gcStart"};

void fuzz_table(std::span<const std::byte> bytes) {
  auto table = GoPclntab::parse(bytes);
  if (!table) {
    if (table.error().message.empty()) __builtin_trap();
    return;
  }
  const uint32_t n = std::min<uint32_t>(table->function_count(), 4096);
  for (uint32_t i = 0; i < n; ++i) {
    const auto f = table->function(i);
    if (!f) continue;
    const auto* name = reinterpret_cast<const std::byte*>(f->name.data());
    if (name < bytes.data() || name + f->name.size() > bytes.data() + bytes.size()) __builtin_trap();
    if (f->end < f->entry) __builtin_trap();
    for (uint64_t pc : table->zero_frame_points(*f))
      if (pc <= f->entry || pc >= f->end) __builtin_trap();
  }
  (void)table->find("runtime.gcStart");
}

void fuzz_elf(std::span<const std::byte> bytes) {
  std::vector<char> copy(reinterpret_cast<const char*>(bytes.data()),
                         reinterpret_cast<const char*>(bytes.data()) + bytes.size());
  Elf* elf = elf_memory(copy.data(), copy.size());
  if (!elf) return;
  if (elf_kind(elf) == ELF_K_ELF) {
    auto go = gputrace::gc::read_go_functions(elf, kWanted);
    if (go) {
      for (const auto& [name, site] : go->sites)
        for (uint64_t off : site.return_offsets)
          if (off >= copy.size() || static_cast<uint8_t>(copy[off]) != 0xc3) __builtin_trap();
    } else if (go.error().message.empty()) {
      __builtin_trap();
    }
  }
  elf_end(elf);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool ready = elf_version(EV_CURRENT) != EV_NONE;
  (void)ready;
  const auto bytes = std::as_bytes(std::span(data, size));
  fuzz_table(bytes);
  fuzz_elf(bytes);
  return 0;
}
