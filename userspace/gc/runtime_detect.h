// RuntimeDetector: decides which managed runtime a process runs (CPython, HotSpot, Go),
// which file carries its GC probes, and — when it cannot be traced — says exactly why and
// what to do. The doctor, the attach manager and the tests share this one verdict.
#pragma once

#include "userspace/gc/elf_facts.h"
#include "userspace/gc/process.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace gputrace::gc {

enum class Runtime { None, CPython, HotSpot, Go };

std::string_view runtime_name(Runtime r);  // "cpython", "hotspot", "go", "none"
std::optional<Runtime> parse_runtime(std::string_view name);  // also accepts python, java, jvm, golang

struct Detection {
  Runtime runtime = Runtime::None;
  bool traceable = false;
  std::string probe_path;  // file to attach to, through /proc/PID/root (exe or libjvm.so)
  FileId probe_file;       // its identity: one attachment per file serves every process
  uint64_t go_cookie = 0;  // GT_GO_COOKIE_* for the Go uprobes
  bool go_markers = false; // gcMarkRootPrepare and gcMarkTermination exist (Go < 1.21 classification)
  // Go: where each probed runtime function is in the file, from its pclntab. A symbol not
  // here is attached by name through .symtab (a binary whose pclntab gputrace cannot read).
  std::map<std::string, GoFunctionSite, std::less<>> go_sites;
  bool hotspot_mem_pool_probes = false;  // mem__pool__gc__begin/end: time the collection proper
  std::string version;     // "go1.19.8", "python3.11", "libjvm.so": what was recognized
  std::string problem;     // untraceable: what is missing
  std::string fix;         // untraceable: what the user can do
};

// The Go runtime symbols gputrace probes: the pause pair, cycles, and the classifiers.
inline constexpr std::string_view kGoStopSym = "runtime.stopTheWorldWithSema";
inline constexpr std::string_view kGoStartSym = "runtime.startTheWorldWithSema";
inline constexpr std::string_view kGoGcStartSym = "runtime.gcStart";
inline constexpr std::string_view kGoStopReasonSym = "runtime.stopTheWorld";
inline constexpr std::string_view kGoSweepTermSym = "runtime.gcMarkRootPrepare";
inline constexpr std::string_view kGoMarkTermSym = "runtime.gcMarkTermination";
// Called by startTheWorldWithSema right after it reads the clock that ends the runtime's own
// pause account (Go 1.19–1.24): where gputrace ends a pause.
inline constexpr std::string_view kGoWakepSym = "runtime.wakep";

class RuntimeDetector {
 public:
  // Detection for one process. ELF facts are cached per file identity, so a binary shared by
  // a thousand processes is read once.
  Detection detect(const ProcessView& p);
  // Detection from a file alone (an interpreter, libjvm.so or a Go executable), before any
  // process runs it: `--exe /usr/bin/python3.11` is traced from its first collection.
  Detection detect_file(const std::string& path);

  void forget_files() {
    facts_.clear();
    unreadable_.clear();
  }

 private:
  const ElfFacts* facts_for(const MappedFile& f, const std::string& path);
  std::optional<Detection> detect_hotspot(const ProcessView& p);
  std::optional<Detection> detect_cpython(const ProcessView& p);
  std::optional<Detection> detect_go(const ProcessView& p);

  std::map<FileId, std::optional<ElfFacts>> facts_;
  std::map<FileId, std::string> unreadable_;  // why a file's facts could not be read
  // "cannot read PATH: why" when one of these files could not be read, else empty
  std::string unreadable(std::initializer_list<const MappedFile*> files) const;
};

}  // namespace gputrace::gc
