// The gpu tier's checker: what gpu_vecadd says it did (its stdout) against the GPU records
// gputrace got of it. Kept apart from the tests that need a GPU so that a unit test can feed
// it records made here (tests/gpu/vecadd_check_test.cc): the checker itself is tested too.
#pragma once

extern "C" {
#include "bpf/gpu.h"
}

#include "userspace/decode/record.h"
#include "userspace/util/result.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gputrace::gpu_tier {

// gpu_vecadd's KEY=VALUE lines. Every count is of calls that succeeded, as the program made
// them: the checker compares against what the program did, not against constants.
struct VecaddReport {
  uint32_t pid = 0;
  uint64_t mono_begin = 0, mono_end = 0;  // CLOCK_MONOTONIC ns around all GPU work
  uint32_t kernels = 0;
  std::string kernel_name;
  uint32_t grid = 0, block = 0;
  uint32_t htod_copies = 0, dtoh_copies = 0;
  uint64_t copy_bytes = 0;
  uint32_t memsets = 0;
  uint64_t memset_bytes = 0;
  uint32_t cuda_device = 0;
  std::string pci_bus_id;  // cudaDeviceGetPCIBusId, e.g. "0000:41:00.0"
};

// Fails naming the first missing or malformed key.
Result<VecaddReport> parse_vecadd_output(const std::string& out);

// The value after "KEY=" up to the end of its line ("" when absent).
std::string value_of(const std::string& out, const std::string& key);

// The GPU records of one process, in arrival order. Records of other processes are only
// counted: gputrace may also see other CUDA programs on the host.
struct GpuActivity {
  explicit GpuActivity(uint32_t pid) : pid(pid) {}
  void on(const Record& r);

  uint32_t pid;
  std::map<uint64_t, std::string> names;  // GT_EV_GPU_NAME: id -> kernel name
  std::vector<gt_gpu_kernel_event> kernels;
  std::vector<gt_gpu_memcpy_event> copies;
  std::vector<gt_gpu_memset_event> memsets;
  std::vector<gt_gpu_status_event> statuses;
  std::vector<gt_gpu_device_event> devices;
  size_t records = 0;            // GPU records of pid
  size_t other_pid_records = 0;  // GPU records of any other process
  size_t first_device_at = SIZE_MAX, first_activity_at = SIZE_MAX;
};

// Every record of the capture at path into activity (through the project's CaptureReader).
Result<void> read_capture(const std::string& path, GpuActivity& activity);

// Everything wrong with activity as a trace of the run that printed report; empty when it
// matches: kernel count, names and shapes; copy count, bytes and direction; memset count and
// bytes; every start and end inside [mono_begin, mono_end]; the library's status (active,
// CLOCK_MONOTONIC, exited, nothing dropped); one device record, ahead of the activity, for the
// runtime's own device id and PCI address.
std::vector<std::string> check_vecadd(const GpuActivity& activity, const VecaddReport& report);

}  // namespace gputrace::gpu_tier
