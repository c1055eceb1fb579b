#include "host_run.h"

#include "userspace/gpu/gpu_ingest.h"
#include "userspace/gpu/seqpacket_listener.h"
#include "temp_dir.h"
#include "userspace/util/clock.h"

#include <gtest/gtest.h>

namespace gputrace::cupti::testing {

HostRun run_host(const std::vector<std::string>& steps, std::vector<std::string> env) {
  test_support::TempDir dir;
  auto listener = SeqpacketListener::bind(dir.file("cupti.sock"), {});
  EXPECT_TRUE(listener) << listener.error().describe();
  HostRun run;
  if (!listener) return run;
  GpuIngest ingest;
  std::vector<std::string> argv{GPUTRACE_INJECTION_HOST_APP};
  argv.insert(argv.end(), steps.begin(), steps.end());
  env.push_back("LD_PRELOAD=" GPUTRACE_STANDIN_CUPTI);
  env.push_back("CUDA_INJECTION64_PATH=" GPUTRACE_CUPTI_LIBRARY);
  env.push_back("GPUTRACE_CUPTI_SOCKET=" + listener->path());
  run.program = run_program(argv, env);
  auto sink = [&](std::span<const std::byte> d, pid_t pid, uid_t) {
    ingest.ingest_datagram(d, static_cast<uint32_t>(pid), monotonic_ns(), [&](const Record& r) {
      ++run.kinds[r.header.kind];
      switch (r.header.kind) {
        case GT_EV_GPU_STATUS: run.statuses.push_back(r.as<gt_gpu_status_event>()); break;
        case GT_EV_GPU_GUARDS: run.guards.push_back(r.as<gt_gpu_guards_event>()); break;
        case GT_EV_GPU_KERNEL: run.kernels_seen.push_back(r.as<gt_gpu_kernel_event>()); break;
        case GT_EV_GPU_API: run.api_calls.push_back(r.as<gt_gpu_api_event>()); break;
        case GT_EV_GPU_OVERHEAD: run.overheads.push_back(r.as<gt_gpu_overhead_event>()); break;
        case GT_EV_GPU_GRAPH: run.graphs.push_back(r.as<gt_gpu_graph_event>()); break;
        default: break;
      }
    });
  };
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(listener->poll_once(i == 0 ? 100 : 10, sink));
  run.rejected = ingest.stats().rejected_total();
  return run;
}

}  // namespace gputrace::cupti::testing
