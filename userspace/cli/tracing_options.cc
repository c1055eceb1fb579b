#include "cli/tracing_options.h"

#include <cstdlib>

namespace gputrace {

const char* const kTracingOptionsHelp = R"(  --all-devices          trace DMA of every device (default: GPUs, PCI class 0x03, and --device)
  --device NAME          also trace this device (PCI address, e.g. 0000:3b:00.0); repeatable
  --ring-size BYTES      bulk ring buffer size (default 4194304, power of two)
  --prefer-flavour F     try attach flavour F first (tp_btf, raw_tp, fentry, kprobe)
)";

void declare_tracing_options(Options& o) {
  o.flag("all-devices").value("device").value("ring-size").value("prefer-flavour");
}

Result<TraceConfig> tracing_config(const Options& o) {
  TraceConfig c;
  c.all_devices = o.has("all-devices");
  c.devices = o.all("device");
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
