// Go function sites: where, in a Go executable's file, the runtime functions gputrace probes
// begin and return — found through the binary's pclntab, so stripped binaries (`-ldflags=-s`,
// `strip`), PIE and cgo / externally linked binaries are traced like any other.
#pragma once

#include "userspace/util/result.h"

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

typedef struct Elf Elf;

namespace gputrace::gc {

struct GoFunctionSite {
  uint64_t entry_offset = 0;                 // file offset of the first instruction (a uprobe offset)
  std::vector<uint64_t> return_offsets;      // file offsets of its RET instructions
  // For each other wanted function it calls directly: file offsets of those CALL instructions
  // (only CALLs that start a source line are seen, so each is surely an instruction start).
  std::map<std::string, std::vector<uint64_t>, std::less<>> calls;
};

struct GoFunctions {
  std::map<std::string, GoFunctionSite, std::less<>> sites;  // only the wanted names that exist
  std::string table_location;  // ".gopclntab", or "pclntab found at 0x… in a read-only segment"
  uint64_t text_start = 0;     // runtime.text: the base of the table's entry offsets
  uint64_t table_offset = 0;   // file offset of the pcHeader
};

// Reads the pclntab of an open ELF file (ELF_C_READ_MMAP) and resolves `wanted` (full names,
// "runtime.gcStart"). Fails with a sentence when the file has no readable Go 1.18+ table.
Result<GoFunctions> read_go_functions(Elf* elf, std::span<const std::string_view> wanted);

}  // namespace gputrace::gc
