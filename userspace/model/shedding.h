// Names of the load shedder's reasons and switches (bpf/common.h, enum gt_shed_reason and
// gt_shed_flags), as logs, views and exporters show them.
#pragma once

extern "C" {
#include "bpf/common.h"
}

#include <cstdint>
#include <string>
#include <vector>

namespace gputrace {

// "cpu,memory_psi"; "none" when nothing pressed.
inline std::string describe_shed_reasons(uint32_t reasons) {
  std::string out;
  const auto add = [&](uint32_t bit, const char* name) {
    if (!(reasons & bit)) return;
    if (!out.empty()) out += ',';
    out += name;
  };
  add(GT_SHED_REASON_CPU, "cpu");
  add(GT_SHED_REASON_MEMORY_PSI, "memory_psi");
  add(GT_SHED_REASON_MEMORY_AVAILABLE, "memory_available");
  add(GT_SHED_REASON_GC_PAUSE, "gc_pause");
  return out.empty() ? "none" : out;
}

// What the switches shed: "stacks", "gpu_api", "gc_markers".
inline std::vector<std::string> shed_work_names(uint32_t flags) {
  std::vector<std::string> out;
  if (flags & GT_SHED_STACKS) out.push_back("stacks");
  if (flags & GT_SHED_GPU_API) out.push_back("gpu_api");
  if (flags & GT_SHED_GC_MARKERS) out.push_back("gc_markers");
  return out;
}

}  // namespace gputrace
