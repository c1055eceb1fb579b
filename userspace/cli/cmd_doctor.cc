// `gputrace doctor`: for each hook, the flavour that attaches on this kernel or the exact
// reason none does; IOMMU mode per group; GPUs and their PCIe links. It really loads and
// attaches (then detaches) every collector, so what it says is what `record` will get.
#include "userspace/cli/commands.h"
#include "userspace/cli/options.h"
#include "userspace/gc/gc_doctor.h"
#include "userspace/host/pci_devices.h"
#include "userspace/loader/kernel_tracer.h"
#include "userspace/util/log.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <cstdio>
#include <map>

namespace gputrace {
namespace {

// Notes worth showing: for an attached hook, only why a better flavour was not used.
bool note_matters(const HookStatus& h, const std::string& note) {
  if (!h.attached()) return true;
  for (const auto& fp : h.spec->flavours) {
    if (fp.flavour == *h.flavour) return false;
    if (note.starts_with(std::string(to_string(fp.flavour)) + ":")) return true;
  }
  return false;
}

void print_hooks(const KernelTracer& tracer) {
  fmt::print("\nkernel hooks:\n");
  for (const auto& h : tracer.hooks()) {
    if (h.attached())
      fmt::print("  {:<20} {:<7} {:<32} {}\n", h.spec->id, to_string(*h.flavour), h.target, h.spec->concern);
    else
      fmt::print("  {:<20} {:<7} {:<32} {}\n", h.spec->id, "-", "NOT ATTACHED", h.spec->concern);
    for (const auto& note : h.notes)
      if (note_matters(h, note)) fmt::print("  {:<20}   not {}\n", "", note);
  }
}

void print_iommu(const std::vector<PciDeviceFacts>& devices) {
  std::map<int, std::pair<std::string, std::vector<std::string>>> groups;
  for (const auto& d : devices)
    if (d.iommu_group >= 0) {
      groups[d.iommu_group].first = d.iommu_type;
      groups[d.iommu_group].second.push_back(d.name);
    }
  fmt::print("\nIOMMU:\n");
  if (groups.empty()) {
    fmt::print("  no IOMMU groups: device DMA is not translated (no IOMMU, or it is disabled)\n");
    return;
  }
  for (const auto& [id, g] : groups)
    fmt::print("  group {:<4} {:<9} ({})  {}\n", id, to_string(parse_iommu_type(g.first)), g.first,
               fmt::join(g.second, " "));
}

void print_gpus(const std::vector<PciDeviceFacts>& devices) {
  fmt::print("\nGPUs (PCI class 0x03):\n");
  bool any = false;
  for (const auto& d : devices) {
    if (!d.is_gpu()) continue;
    any = true;
    fmt::print("  {} {:04x}:{:04x} driver={} link {:.1f} GT/s x{} (max {:.1f} GT/s x{}){}\n", d.name, d.vendor,
               d.device, d.driver.empty() ? "-" : d.driver, d.link_speed_mts / 1000.0, d.link_width,
               d.max_link_speed_mts / 1000.0, d.max_link_width, d.link_downtrained() ? "  DOWNTRAINED" : "");
  }
  if (!any) fmt::print("  none found\n");
}

}  // namespace

int cmd_doctor(const Args& args) {
  Options o;
  o.flag("help", 'h');
  if (auto r = o.parse(args); !r || o.has("help")) {
    if (!r) log_error("{}", r.error().describe());
    std::fputs("usage: gputrace doctor\n\nShows what attaches on this kernel and why not, the IOMMU mode of each "
               "group,\nand GPUs with their PCIe link (current vs max). Needs root.\n",
               r ? stdout : stderr);
    return r ? 0 : 2;
  }
  Features features = Features::probe();
  fmt::print("kernel {}  BTF {}\n", features.kernel_release(), features.has_btf() ? "yes" : "NO (CO-RE needs it)");
  fmt::print("fentry/fexit: {}\n", features.trampolines() ? "available" : features.trampolines_reason());
  fmt::print("kprobes:      {}\n", features.kprobes() ? "available" : features.kprobes_reason());
  if (geteuid() != 0) {
    log_error("doctor loads BPF programs to check them: run it as root");
    return 1;
  }
  TraceConfig config;
  auto tracer = KernelTracer::start(features, config);
  if (!tracer) {
    log_error("{}", tracer.error().describe());
    return 1;
  }
  print_hooks(**tracer);
  auto devices = read_pci_devices();
  print_iommu(devices);
  print_gpus(devices);
  fmt::print("\nGC runtimes (running processes):\n{}", gc::format_gc_diagnosis(gc::diagnose_gc_runtimes()));
  return 0;
}

}  // namespace gputrace
