#include "userspace/attach/target_library.h"

#include "userspace/attach/ptrace_thread.h"

#include <fmt/format.h>

namespace gputrace::attach {
namespace {

bool maybe_ours(const Mapping& m) {
  return m.path.find("gputrace_cupti") != std::string::npos || m.path.find("memfd:gputrace-cupti") != std::string::npos;
}

}  // namespace

Result<std::optional<LoadedLibrary>> find_loaded_library(pid_t pid, const std::vector<Mapping>& maps,
                                                         const std::string& ours) {
  auto own = DynamicSymbols::read(ours, {GT_ATTACH_INFO_SYMBOL, GT_ATTACH_ENTRY_SYMBOL});
  if (!own) return tl::unexpected(own.error());
  for (const Mapping& m : maps) {
    if (m.offset != 0 || !maybe_ours(m)) continue;
    auto theirs = DynamicSymbols::read(m.map_file(pid), {GT_ATTACH_INFO_SYMBOL, GT_ATTACH_ENTRY_SYMBOL});
    if (!theirs) continue;  // not an ELF file after all
    LoadedLibrary lib;
    lib.mapping = m;
    lib.same_build = !own->build_id().empty() && theirs->build_id() == own->build_id();
    const uint64_t info = symbol_address(maps, m, *theirs, GT_ATTACH_INFO_SYMBOL);
    lib.entry = symbol_address(maps, m, *theirs, GT_ATTACH_ENTRY_SYMBOL);
    if (info == 0 || lib.entry == 0) {
      lib.same_build = false;  // a gputrace from before `attach`
      return lib;
    }
    if (auto r = read_memory(pid, info, &lib.info, sizeof(lib.info)); !r) return tl::unexpected(r.error());
    if (lib.info.magic != GT_ATTACH_MAGIC || lib.info.abi != GT_ATTACH_ABI) lib.same_build = false;
    return lib;
  }
  return std::optional<LoadedLibrary>{};
}

Result<LibcFunctions> find_libc_functions(pid_t pid, const std::vector<Mapping>& maps) {
  LibcFunctions f;
  const std::vector<std::string> names = {"pthread_create", "pthread_self", "pthread_detach", "dlopen",
                                          "dlsym",          "dlerror",      "close"};
  uint64_t* slots[] = {&f.pthread_create, &f.pthread_self, &f.pthread_detach, &f.dlopen, &f.dlsym, &f.dlerror, &f.close};
  // Newer glibc first: libc.so.6 has everything from 2.34 on.
  for (const char* lib : {"libc.so.6", "libpthread.so.0", "libdl.so.2"}) {
    const Mapping* m = find_library(maps, lib);
    if (m == nullptr) continue;
    auto symbols = DynamicSymbols::read(m->map_file(pid), names);
    if (!symbols) return tl::unexpected(symbols.error());
    if (!symbols->is_x86_64()) return fail("process {} is not an x86-64 process: gputrace attaches to x86-64 only", pid);
    for (size_t i = 0; i < names.size(); ++i)
      if (*slots[i] == 0) *slots[i] = symbol_address(maps, *m, *symbols, names[i]);
  }
  if (find_library(maps, "libc.so.6") == nullptr)
    return fail("process {} does not use glibc (no libc.so.6 mapped): gputrace can only attach to glibc processes", pid);
  for (size_t i = 0; i < names.size(); ++i)
    if (*slots[i] == 0)
      return fail("process {} has no {} (glibc older than 2.34 without libpthread/libdl loaded): gputrace cannot "
                  "start a thread in it",
                  pid, names[i]);
  return f;
}

}  // namespace gputrace::attach
