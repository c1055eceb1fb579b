#include "userspace/cli/tracing_options.h"

#include "userspace/gc/runtime_detect.h"

#include <cstdlib>

namespace gputrace {

const char* const kTracingOptionsHelp = R"(  --all-devices          trace DMA of every device (default: GPUs, PCI class 0x03, and --device)
  --device NAME          also trace this device (PCI address, e.g. 0000:3b:00.0); repeatable
  --ring-size BYTES      bulk ring buffer size (default 4194304, power of two)
  --prefer-flavour F     try attach flavour F first (tp_btf, raw_tp, fentry, kprobe)
  --no-gc                do not trace GC pauses of CPython, HotSpot and Go processes
  --pid PID              trace GC pauses of this process only (repeatable); record and top
                         also attach GPU tracing to it (docs/cupti.md; --no-attach: not)
  --exe PATH|NAME        ... of processes running this executable (repeatable)
  --runtime R            ... of this runtime only: python, java or go (repeatable)
)";

void declare_tracing_options(Options& o) {
  o.flag("all-devices").value("device").value("ring-size").value("prefer-flavour");
  o.flag("no-gc").value("pid").value("exe").value("runtime");
}

Result<TraceConfig> tracing_config(const Options& o) {
  TraceConfig c;
  c.all_devices = o.has("all-devices");
  for (const auto& d : o.all("device")) {
    auto address = parse_pci_address(d);
    if (!address) return fail("--device: {}", address.error().describe());
    c.devices.push_back(*address);
  }
  if (auto size = o.get("ring-size")) {
    unsigned long v = std::strtoul(size->c_str(), nullptr, 10);
    if (v < 4096 || (v & (v - 1)) != 0) return fail("--ring-size {} must be a power of two of at least 4096", *size);
    c.rings.bulk_bytes = static_cast<uint32_t>(v);
  }
  if (auto f = o.get("prefer-flavour")) {
    for (Flavour fl : {Flavour::TpBtf, Flavour::RawTp, Flavour::Fentry, Flavour::Kprobe})
      if (to_string(fl) == *f) c.prefer = fl;
    if (!c.prefer) return fail("--prefer-flavour '{}': use tp_btf, raw_tp, fentry or kprobe", *f);
  }
  return c;
}

}  // namespace gputrace

namespace gputrace {

Result<std::optional<gc::GcOptions>> gc_options(const Options& o) {
  gc::GcOptions g;
  for (const auto& p : o.all("pid")) {  // checked with --no-gc too: --pid also names GPU attach targets
    auto pid = parse_pid(p);
    if (!pid) return fail("--pid {}", pid.error().message);
    g.filter.pids.insert(*pid);
  }
  if (o.has("no-gc")) return std::optional<gc::GcOptions>{};
  g.filter.exes = o.all("exe");
  for (const auto& r : o.all("runtime")) {
    auto runtime = gc::parse_runtime(r);
    if (!runtime) return fail("--runtime '{}': use python, java or go", r);
    g.filter.runtimes.insert(*runtime);
  }
  return std::optional<gc::GcOptions>(std::move(g));
}

}  // namespace gputrace
