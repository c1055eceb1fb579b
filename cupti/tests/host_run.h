// run_host: runs injection_host_app (the library loaded as libcuda would, the stand-in
// libcupti preloaded) with the given steps and environment, serving the socket route the way
// a live session does, and returns what arrived through GpuIngest, by kind, with every status
// and guard record, and the program's output.
#pragma once

#include "subprocess.h"

extern "C" {
#include "bpf/gpu.h"
}

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gputrace::cupti::testing {

struct HostRun {
  ProgramResult program;
  std::map<uint16_t, int> kinds;
  std::vector<gt_gpu_status_event> statuses;
  std::vector<gt_gpu_guards_event> guards;
  std::vector<gt_gpu_kernel_event> kernels_seen;
  std::vector<gt_gpu_api_event> api_calls;
  std::vector<gt_gpu_overhead_event> overheads;
  std::vector<gt_gpu_graph_event> graphs;
  uint64_t rejected = 0;

  bool saw_state(gt_gpu_state s) const {
    for (const auto& st : statuses)
      if (st.state == static_cast<uint32_t>(s)) return true;
    return false;
  }
  int kernels() const { return kinds.count(GT_EV_GPU_KERNEL) ? kinds.at(GT_EV_GPU_KERNEL) : 0; }
  // Whether the stand-in logged this call (its log line starts with the call).
  bool called(const std::string& call) const { return program.err.find("]: " + call) != std::string::npos; }
};

HostRun run_host(const std::vector<std::string>& steps, std::vector<std::string> env);

}  // namespace gputrace::cupti::testing
