#include "userspace/cli/tracing_options.h"

#include "userspace/gc/runtime_detect.h"

#include <cstdlib>

namespace gputrace {

const char* const kTracingOptionsHelp = R"(  --all-devices          trace DMA of every device (default: GPUs, PCI class 0x03, and --device)
  --device NAME          also trace this device (PCI address, e.g. 0000:3b:00.0); repeatable
  --ring-size BYTES      bulk ring buffer size (default 4194304, power of two)
  --prefer-flavour F     try attach flavour F first (tp_btf, raw_tp, fentry, kprobe)
  --no-kernel-pairing    ship every DMA map and unmap to userspace instead of pairing them in
                         the kernel (costs ~10x more per mapping: for debugging gputrace)
  --no-gc                do not trace GC pauses of CPython, HotSpot and Go processes
  --pid PID              trace GC pauses of this process only (repeatable); record and top
                         also attach GPU tracing to it (docs/cupti.md; --no-attach: not)
  --exe PATH|NAME        ... of processes running this executable (repeatable)
  --runtime R            ... of this runtime only: python, java or go (repeatable)
  --shed-cpu PCT         shed optional work while host CPU stays above PCT % busy (default 85)
  --shed-memory-psi PCT  ... while PSI memory "some avg10" is above PCT (default 10)
  --shed-memory-available PCT
                         ... while MemAvailable is below PCT % of memory (default 8)
  --shed-gc-pause DUR    ... while traced GC pauses last longer than DUR (default 200ms)
  --shed-after DUR       pressure that lasts DUR sheds one more step (default 10s)
  --shed-recover DUR     DUR without pressure takes one step back (default 30s)
  --no-shedding          never shed (docs/architecture.md, "Load shedding")
  --pressure-proc DIR    read host pressure from DIR instead of /proc (a container that
                         mounts the host's /proc elsewhere)
)";

void declare_tracing_options(Options& o) {
  o.flag("all-devices").value("device").value("ring-size").value("prefer-flavour").flag("no-kernel-pairing");
  o.flag("no-gc").value("pid").value("exe").value("runtime");
  o.value("shed-cpu").value("shed-memory-psi").value("shed-memory-available").value("shed-gc-pause");
  o.value("shed-after").value("shed-recover").flag("no-shedding").value("pressure-proc");
}

namespace {

Result<double> percent_option(const Options& o, const char* name, double fallback) {
  const auto text = o.get(name);
  if (!text) return fallback;
  char* end = nullptr;
  const double v = std::strtod(text->c_str(), &end);
  if (end == text->c_str() || *end || !(v >= 0 && v <= 100)) return fail("--{} '{}': give a percentage, 0 to 100", name, *text);
  return v;
}

Result<uint64_t> duration_option(const Options& o, const char* name, uint64_t fallback) {
  const auto text = o.get(name);
  if (!text) return fallback;
  auto d = parse_duration(*text);
  if (!d) return fail("--{}: {}", name, d.error().describe());
  return static_cast<uint64_t>(d->count());
}

Result<ShedThresholds> shed_thresholds(const Options& o) {
  ShedThresholds t;
  t.enabled = !o.has("no-shedding");
  auto cpu = percent_option(o, "shed-cpu", t.cpu_pct);
  auto psi = percent_option(o, "shed-memory-psi", t.memory_psi);
  auto available = percent_option(o, "shed-memory-available", t.memory_available_pct);
  auto gc = duration_option(o, "shed-gc-pause", t.gc_pause_ns);
  auto after = duration_option(o, "shed-after", t.sustain_ns);
  auto recover = duration_option(o, "shed-recover", t.recover_ns);
  for (const Result<double>* r : {&cpu, &psi, &available})
    if (!*r) return tl::unexpected(r->error());
  for (const Result<uint64_t>* r : {&gc, &after, &recover})
    if (!*r) return tl::unexpected(r->error());
  t.cpu_pct = *cpu, t.memory_psi = *psi, t.memory_available_pct = *available;
  t.gc_pause_ns = *gc, t.sustain_ns = *after, t.recover_ns = *recover;
  return t;
}

}  // namespace

Result<TraceConfig> tracing_config(const Options& o) {
  TraceConfig c;
  c.all_devices = o.has("all-devices");
  for (const auto& d : o.all("device")) {
    auto address = parse_pci_address(d);
    if (!address) return fail("--device: {}", address.error().describe());
    c.devices.push_back(*address);
  }
  c.kernel_pairing = !o.has("no-kernel-pairing");
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
  auto shedding = shed_thresholds(o);
  if (!shedding) return tl::unexpected(shedding.error());
  c.shedding = *shedding;
  if (auto proc = o.get("pressure-proc")) c.pressure_proc = *proc;
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
