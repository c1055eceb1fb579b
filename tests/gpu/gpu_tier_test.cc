// The gpu tier: gpu_vecadd under the real injection library on a real GPU, its activity
// received by the daemon's side (socket, and USDT when root) and checked against what the
// program is known to do: 10 vecadd kernels, 2 x 4 MiB HtoD, 1 x 4 MiB DtoH, 1 x 4 MiB
// memset, every timestamp inside the program's own CLOCK_MONOTONIC window, and the PCI address
// of its device (GT_EV_GPU_DEVICE) ahead of its activity, as the CUDA runtime reports it.
//
// Skips only where no NVIDIA GPU is present (no /dev/nvidiactl).
#include "decode/decoder.h"
#include "gpu/gpu_ingest.h"
#include "gpu/gpu_probe.h"
#include "gpu/seqpacket_listener.h"
#include "loader/shared_maps.h"
#include "subprocess.h"

#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <string>
#include <thread>

namespace gputrace {
namespace {

using cupti::testing::start_program;
using cupti::testing::wait_program;

constexpr uint64_t kBuffer = 4u << 20;

struct Observed {
  std::map<uint16_t, int> kinds;
  std::map<uint64_t, std::string> names;
  std::vector<gt_gpu_kernel_event> kernels;
  std::vector<gt_gpu_memcpy_event> copies;
  std::vector<gt_gpu_memset_event> memsets;
  std::vector<gt_gpu_status_event> statuses;
  std::vector<gt_gpu_device_event> devices;
  size_t records = 0;
  size_t first_device_at = SIZE_MAX, first_activity_at = SIZE_MAX;

  void on(const Record& r) {
    ++kinds[r.header.kind];
    const size_t at = records++;
    if (r.header.kind == GT_EV_GPU_DEVICE) first_device_at = std::min(first_device_at, at);
    if (r.header.kind == GT_EV_GPU_KERNEL || r.header.kind == GT_EV_GPU_MEMCPY || r.header.kind == GT_EV_GPU_MEMSET)
      first_activity_at = std::min(first_activity_at, at);
    switch (r.header.kind) {
      case GT_EV_GPU_DEVICE: devices.push_back(r.as<gt_gpu_device_event>()); break;
      case GT_EV_GPU_KERNEL: kernels.push_back(r.as<gt_gpu_kernel_event>()); break;
      case GT_EV_GPU_MEMCPY: copies.push_back(r.as<gt_gpu_memcpy_event>()); break;
      case GT_EV_GPU_MEMSET: memsets.push_back(r.as<gt_gpu_memset_event>()); break;
      case GT_EV_GPU_STATUS: statuses.push_back(r.as<gt_gpu_status_event>()); break;
      case GT_EV_GPU_NAME: {
        const auto tail = r.tail<gt_gpu_name_event>();
        names[r.as<gt_gpu_name_event>().name_id] =
            std::string(reinterpret_cast<const char*>(tail.data()), r.as<gt_gpu_name_event>().name_len);
        break;
      }
    }
  }
};

uint64_t value_after(const std::string& out, const std::string& key) {
  const auto at = out.find(key + "=");
  return at == std::string::npos ? 0 : std::stoull(out.substr(at + key.size() + 1));
}

std::string text_after(const std::string& out, const std::string& key) {
  const auto at = out.find(key + "=");
  if (at == std::string::npos) return {};
  const auto from = at + key.size() + 1;
  return out.substr(from, out.find('\n', from) - from);
}


void check_activity(const Observed& o, const std::string& program_out) {
  const uint64_t begin = value_after(program_out, "MONO_BEGIN"), end = value_after(program_out, "MONO_END");
  ASSERT_GT(begin, 0u) << program_out;
  ASSERT_GT(end, begin) << program_out;

  ASSERT_EQ(o.kernels.size(), 10u);
  for (const auto& k : o.kernels) {
    ASSERT_TRUE(o.names.count(k.name_id));
    EXPECT_NE(o.names.at(k.name_id).find("vecadd"), std::string::npos);
    EXPECT_EQ(k.grid[0], 4096u);
    EXPECT_EQ(k.block[0], 256u);
    EXPECT_GE(k.hdr.ts_ns, begin);
    EXPECT_LE(k.end_ns, end);
    EXPECT_GE(k.end_ns, k.hdr.ts_ns);
  }
  int htod = 0, dtoh = 0;
  for (const auto& c : o.copies) {
    EXPECT_EQ(c.bytes, kBuffer);
    htod += c.copy_kind == GT_GPU_COPY_HTOD;
    dtoh += c.copy_kind == GT_GPU_COPY_DTOH;
    EXPECT_GE(c.hdr.ts_ns, begin);
    EXPECT_LE(c.end_ns, end);
  }
  EXPECT_EQ(htod, 2);
  EXPECT_EQ(dtoh, 1);
  ASSERT_EQ(o.memsets.size(), 1u);
  EXPECT_EQ(o.memsets[0].bytes, kBuffer);
  EXPECT_GE(o.memsets[0].hdr.ts_ns, begin);
  EXPECT_LE(o.memsets[0].end_ns, end);
  ASSERT_FALSE(o.statuses.empty());
  EXPECT_EQ(o.statuses.front().state, GT_GPU_STATE_ACTIVE);
  EXPECT_EQ(o.statuses.front().clock_mode, GT_GPU_CLOCK_MONOTONIC);
  EXPECT_EQ(o.statuses.back().state, GT_GPU_STATE_EXITING);
  EXPECT_EQ(o.statuses.back().dropped_cupti, 0u);
  EXPECT_EQ(o.statuses.back().dropped_local, 0u);

  // Which PCI device the program's CUDA device is: one record (one device, one receiver),
  // ahead of the first activity, for the device id the activity carries, at the address the
  // runtime itself reports (cudaDeviceGetPCIBusId, e.g. "0000:41:00.0").
  ASSERT_EQ(o.devices.size(), 1u);
  const gt_gpu_device_event& d = o.devices[0];
  EXPECT_LT(o.first_device_at, o.first_activity_at);
  EXPECT_EQ(d.device_id, value_after(program_out, "CUDA_DEVICE"));
  EXPECT_EQ(d.device_id, o.kernels.front().device_id);
  const std::string runtime_says = text_after(program_out, "PCI_BUS_ID");
  unsigned domain = 0, bus = 0, dev = 0, function = 0;
  ASSERT_EQ(std::sscanf(runtime_says.c_str(), "%x:%x:%x.%x", &domain, &bus, &dev, &function), 4) << program_out;
  EXPECT_EQ(d.pci_domain, domain) << runtime_says;
  EXPECT_EQ(d.pci_bus, bus) << runtime_says;
  EXPECT_EQ(d.pci_device, dev) << runtime_says;
  EXPECT_NE(std::string(d.name).find("NVIDIA"), std::string::npos) << d.name;
}

class GpuTier : public ::testing::Test {
 protected:
  void SetUp() override {
    struct stat st {};
    if (::stat("/dev/nvidiactl", &st) != 0) GTEST_SKIP() << "no NVIDIA GPU on this host (/dev/nvidiactl missing)";
  }
};

TEST_F(GpuTier, VecaddThroughTheSocket) {
  char dir[] = "/tmp/gputrace-gpu-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/cupti.sock";
  auto listener = SeqpacketListener::bind(path, {});
  ASSERT_TRUE(listener) << listener.error().describe();
  GpuIngest ingest;
  Observed seen;
  std::atomic<bool> done{false};
  auto sink = [&](std::span<const std::byte> d, pid_t pid, uid_t) {
    ingest.ingest_datagram(d, static_cast<uint32_t>(pid), 1, [&](const Record& r) { seen.on(r); });
  };
  // Polled while the program runs: its exit flush must not find the socket full.
  std::thread poller([&] {
    while (!done) (void)listener->poll_once(20, sink);
  });
  const auto result = wait_program(start_program(
      {GPUTRACE_GPU_VECADD}, {"CUDA_INJECTION64_PATH=" GPUTRACE_CUPTI_LIBRARY, "GPUTRACE_CUPTI_SOCKET=" + path}));
  for (int i = 0; i < 10; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  done = true;
  poller.join();
  (void)listener->poll_once(0, sink);
  ::rmdir(dir);
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(ingest.stats().rejected_total(), 0u);
  EXPECT_EQ(ingest.stats().batches_lost, 0u);
  check_activity(seen, result.out);
}

TEST_F(GpuTier, VecaddThroughTheUsdtProbe) {
  if (::geteuid() != 0) GTEST_SKIP() << "attaching the USDT probe needs root";
  auto maps = SharedMaps::create({});
  ASSERT_TRUE(maps) << maps.error().describe();
  auto probe = GpuProbe::attach(*maps, GPUTRACE_CUPTI_LIBRARY);
  ASSERT_TRUE(probe) << probe.error().describe();
  struct Ctx {
    GpuIngest ingest;
    Observed seen;
  } ctx;
  auto* ring = ring_buffer__new(
      maps->bulk_ring_fd(),
      [](void* c, void* data, size_t size) {
        auto* x = static_cast<Ctx*>(c);
        Record rec;
        if (decode_one({static_cast<const std::byte*>(data), size}, rec) == DecodeError::None)
          x->ingest.ingest_ring_record(rec, 1, [x](const Record& r) { x->seen.on(r); });
        return 0;
      },
      &ctx, nullptr);
  ASSERT_NE(ring, nullptr);
  auto running = start_program({GPUTRACE_GPU_VECADD},
                               {"CUDA_INJECTION64_PATH=" GPUTRACE_CUPTI_LIBRARY, "GPUTRACE_CUPTI_SOCKET="});
  // The 4 MiB ring holds this program's few batches: draining after it exits loses nothing.
  const auto result = wait_program(running);
  ASSERT_GE(ring_buffer__consume(ring), 0);
  ring_buffer__free(ring);
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(ctx.ingest.stats().rejected_total(), 0u);
  check_activity(ctx.seen, result.out);
}

}  // namespace
}  // namespace gputrace
