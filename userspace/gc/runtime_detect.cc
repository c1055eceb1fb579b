#include "userspace/gc/runtime_detect.h"

#include "userspace/gc/go_buildinfo.h"

extern "C" {
#include "bpf/gc.h"
}

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <array>

namespace gputrace::gc {
namespace {

constexpr std::array<std::string_view, 7> kGoSymbols = {kGoStopSym,       kGoStartSym,     kGoGcStartSym,
                                                        kGoStopReasonSym, kGoSweepTermSym, kGoMarkTermSym,
                                                        kGoWakepSym};

// python, python3, python3.11, python3.11d: an interpreter that links libpython statically.
bool looks_like_python(std::string_view exe) { return basename_of(exe).starts_with("python"); }

}  // namespace

std::string_view runtime_name(Runtime r) {
  switch (r) {
    case Runtime::CPython: return "cpython";
    case Runtime::HotSpot: return "hotspot";
    case Runtime::Go: return "go";
    case Runtime::None: break;
  }
  return "none";
}

std::optional<Runtime> parse_runtime(std::string_view name) {
  if (name == "cpython" || name == "python") return Runtime::CPython;
  if (name == "hotspot" || name == "java" || name == "jvm") return Runtime::HotSpot;
  if (name == "go" || name == "golang") return Runtime::Go;
  return std::nullopt;
}

const ElfFacts* RuntimeDetector::facts_for(const MappedFile& f, const std::string& path) {
  auto it = facts_.find(f.id);
  if (it == facts_.end()) {
    auto facts = read_elf_facts(path, kGoSymbols);
    if (!facts) unreadable_[f.id] = facts.error().describe();
    it = facts_.emplace(f.id, facts ? std::optional(std::move(*facts)) : std::nullopt).first;
  }
  return it->second ? &*it->second : nullptr;
}

std::string RuntimeDetector::unreadable(std::initializer_list<const MappedFile*> files) const {
  for (const MappedFile* f : files)
    if (f && unreadable_.count(f->id)) return unreadable_.at(f->id);
  return "";
}

// A binary gputrace may not read (a private directory of another user) is not one without
// probes: say which, and what lets gputrace read it.
static void explain_unreadable(Detection& d, const std::string& why) {
  d.problem = why;
  d.fix = "gputrace reads other users' binaries with CAP_DAC_READ_SEARCH and their /proc/PID/root with "
          "CAP_SYS_PTRACE: run it as root or as the gputrace service (docs/deploy.md)";
}

// HotSpot: libjvm.so in the maps, with hotspot:gc__begin/gc__end notes.
std::optional<Detection> RuntimeDetector::detect_hotspot(const ProcessView& p) {
  const MappedFile* jvm = nullptr;
  for (const auto& f : p.files)
    if (basename_of(f.path) == "libjvm.so") jvm = &f;
  if (!jvm) return std::nullopt;
  Detection d{.runtime = Runtime::HotSpot, .probe_path = p.host_path(jvm->path), .probe_file = jvm->id,
              .version = jvm->path};
  const ElfFacts* facts = facts_for(*jvm, d.probe_path);
  if (facts && facts->has_usdt("hotspot", "gc__begin") && facts->has_usdt("hotspot", "gc__end")) {
    d.traceable = true;
    d.hotspot_mem_pool_probes =
        facts->has_usdt("hotspot", "mem__pool__gc__begin") && facts->has_usdt("hotspot", "mem__pool__gc__end");
    return d;
  }
  d.problem = fmt::format("{} has no hotspot:gc__begin/gc__end USDT probes: this JDK was built without DTrace "
                          "support (--enable-dtrace=no)",
                          jvm->path);
  d.fix = "run the service on a JDK built with DTrace probes (Debian/Ubuntu OpenJDK packages, Eclipse Temurin and "
          "most vendor builds for glibc Linux have them; check with `readelf -n libjvm.so | grep gc__begin`)";
  if (const std::string why = unreadable({jvm}); !why.empty()) explain_unreadable(d, why);
  return d;
}

// CPython: python:gc__start/gc__done in the executable or in a mapped libpython.
std::optional<Detection> RuntimeDetector::detect_cpython(const ProcessView& p) {
  const MappedFile* exe = p.exe_mapping();
  const MappedFile* lib = p.find_by_basename_prefix("libpython");
  const bool pythonish = lib || looks_like_python(p.exe);
  if (!pythonish) return std::nullopt;
  for (const MappedFile* f : {exe, lib}) {
    if (!f) continue;
    const std::string path = f == exe ? p.exe_host_path() : p.host_path(f->path);
    const ElfFacts* facts = facts_for(*f, path);
    if (facts && facts->has_usdt("python", "gc__start") && facts->has_usdt("python", "gc__done"))
      return Detection{.runtime = Runtime::CPython, .traceable = true, .probe_path = path, .probe_file = f->id,
                       .version = std::string(basename_of(f->path))};
  }
  Detection d{.runtime = Runtime::CPython, .version = std::string(basename_of(lib ? lib->path : p.exe))};
  d.problem = fmt::format("{} has no python:gc__start/gc__done USDT probes: this CPython was built without "
                          "--with-dtrace (pyenv, conda, python.org and most Docker python images are)",
                          lib ? lib->path : p.exe);
  d.fix = "run the service with a CPython built --with-dtrace: Debian/Ubuntu's /usr/bin/python3.x and Fedora's "
          "python3 have the probes; for pyenv: PYTHON_CONFIGURE_OPTS=--with-dtrace pyenv install <version> "
          "(needs systemtap-sdt-dev)";
  if (const std::string why = unreadable({exe, lib}); !why.empty()) explain_unreadable(d, why);
  return d;
}

// Go: a .go.buildinfo section or the runtime's symbols in the executable.
std::optional<Detection> RuntimeDetector::detect_go(const ProcessView& p) {
  const MappedFile* exe = p.exe_mapping();
  if (!exe) return std::nullopt;
  const std::string path = p.exe_host_path();
  const ElfFacts* facts = facts_for(*exe, path);
  if (!facts || (!facts->has_go_buildinfo && !facts->has_symbol(kGoGcStartSym))) return std::nullopt;
  Detection d{.runtime = Runtime::Go, .probe_path = path, .probe_file = exe->id,
              .version = facts->go_version.empty() ? "go (version unknown)" : facts->go_version};
  const auto& sites = facts->go_functions.sites;
  // Either source names a function: the pclntab (every Go binary has one) or the symbol table.
  auto has = [&](std::string_view sym) { return sites.contains(sym) || facts->has_symbol(sym); };
  if (!has(kGoStopSym) || !has(kGoStartSym)) {
    const std::string why = facts->go_functions_problem.empty() ? "its pclntab does not name them either"
                                                                : facts->go_functions_problem;
    d.problem = fmt::format("{} ({}): {} and {} are not in its symbol table ({})", p.exe, d.version, kGoStopSym,
                            kGoStartSym, why);
    d.fix = facts->has_symtab ? "report this binary to gputrace: its Go runtime lacks the functions gputrace probes"
                              : "rebuild without -s (`-ldflags=-w` alone drops DWARF but keeps the symbol table) "
                                "and do not strip the binary, or report the binary to gputrace";
    return d;
  }
  d.go_sites = sites;
  d.traceable = true;
  const auto version = GoVersion::parse(facts->go_version);
  // Without a readable version, assume a current toolchain: the register ABI and string reasons.
  if (!version || version->register_abi()) d.go_cookie |= GT_GO_COOKIE_REGABI;
  if (version && version->stw_reason_enum()) d.go_cookie |= GT_GO_COOKIE_STW_REASON;
  d.go_markers = has(kGoSweepTermSym) && has(kGoMarkTermSym);
  return d;
}

Detection RuntimeDetector::detect_file(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return {};
  ProcessView file;  // a process of one mapping: the file itself, seen from our own root
  file.pid = 0;
  file.exe = path;
  file.files.push_back({path, FileId{major(st.st_dev), minor(st.st_dev), st.st_ino}});
  if (basename_of(path) == "libjvm.so") file.exe.clear();
  Detection d = detect(file);
  return d;
}

Detection RuntimeDetector::detect(const ProcessView& p) {
  if (auto d = detect_hotspot(p)) return *d;
  if (auto d = detect_cpython(p)) return *d;
  if (auto d = detect_go(p)) return *d;
  return {};
}

}  // namespace gputrace::gc
