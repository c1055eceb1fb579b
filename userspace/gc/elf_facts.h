// ElfFacts: what one ELF file offers a GC tracer — its USDT probes (.note.stapsdt), a few
// named symbols, and Go build information — read once per file with libelf.
#pragma once

#include "userspace/gc/go_functions.h"
#include "userspace/util/result.h"

#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gputrace::gc {

struct UsdtProbe {
  std::string provider;
  std::string name;
  bool operator<(const UsdtProbe& o) const { return std::tie(provider, name) < std::tie(o.provider, o.name); }
};

struct ElfFacts {
  std::set<UsdtProbe> usdt;
  std::set<std::string> symbols;  // the wanted symbols this file defines (.symtab or .dynsym)
  bool has_symtab = false;        // false: stripped (`-ldflags=-s`, `strip`)
  bool has_go_buildinfo = false;  // a Go program, stripped or not
  std::string go_version;         // "go1.19.8"; empty when unreadable
  GoFunctions go_functions;       // the wanted symbols' sites from the pclntab (stripped or not)
  std::string go_functions_problem;  // why the pclntab could not be read; empty when it was

  bool has_usdt(std::string_view provider, std::string_view name) const;
  bool has_provider(std::string_view provider) const;
  bool has_symbol(std::string_view name) const { return symbols.contains(std::string(name)); }
};

// Reads `path` (which may go through /proc/PID/root/...). Only the names in `wanted_symbols`
// are looked up, so a large binary's symbol table costs one pass and no memory. A Go binary's
// pclntab is read too, for the same names.
Result<ElfFacts> read_elf_facts(const std::string& path, std::span<const std::string_view> wanted_symbols);

}  // namespace gputrace::gc
