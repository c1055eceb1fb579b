// The USDT bridge end to end on this kernel (needs root): bpf/gpu.bpf.c attached to the
// library's gputrace:batch probe, the emitter sending through the real probe, the probe's own
// GPU ring drained with libbpf, the daemon's decoder and GpuIngest validating what arrived.
#include "userspace/decode/decoder.h"
#include "userspace/gpu/gpu_ingest.h"
#include "userspace/gpu/gpu_probe.h"
#include "handmade_buffer.h"
#include "userspace/loader/shared_maps.h"
#include "malformed_batches.h"
#include "subprocess.h"
#include "userspace/util/clock.h"

#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>

namespace gputrace::cupti {
namespace {

struct Drained {
  size_t ring_records = 0;
  size_t decode_errors = 0;
  std::map<uint16_t, int> kinds;
  std::vector<uint32_t> pids;
  std::vector<gt_gpu_kernel_event> kernels;
  std::string name;
  gt_gpu_device_event device{};
  uint64_t memcpy_bytes = 0;
};

struct Bridge {
  SharedMaps maps;
  GpuProbe probe;
  GpuIngest ingest;
  Drained drained;
  ring_buffer* ring = nullptr;

  ~Bridge() {
    if (ring) ring_buffer__free(ring);
  }

  static int on_sample(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Bridge*>(ctx);
    ++self->drained.ring_records;
    Record rec;
    if (decode_one({static_cast<const std::byte*>(data), size}, rec) != DecodeError::None) {
      ++self->drained.decode_errors;
      return 0;
    }
    self->ingest.ingest_ring_record(rec, monotonic_ns(), [self](const Record& r) { self->on_gpu_record(r); });
    return 0;
  }

  void on_gpu_record(const Record& r) {
    ++drained.kinds[r.header.kind];
    drained.pids.push_back(r.header.pid);
    if (r.header.kind == GT_EV_GPU_KERNEL) drained.kernels.push_back(r.as<gt_gpu_kernel_event>());
    if (r.header.kind == GT_EV_GPU_MEMCPY) drained.memcpy_bytes += r.as<gt_gpu_memcpy_event>().bytes;
    if (r.header.kind == GT_EV_GPU_DEVICE) drained.device = r.as<gt_gpu_device_event>();
    if (r.header.kind == GT_EV_GPU_NAME) {
      const auto tail = r.tail<gt_gpu_name_event>();
      drained.name.assign(reinterpret_cast<const char*>(tail.data()), r.as<gt_gpu_name_event>().name_len);
    }
  }
};

std::unique_ptr<Bridge> attach_bridge() {
  auto maps = SharedMaps::create({});
  if (!maps) {
    ADD_FAILURE() << maps.error().describe();
    return nullptr;
  }
  auto probe = GpuProbe::attach(*maps, GPUTRACE_CUPTI_LIBRARY);
  if (!probe) {
    ADD_FAILURE() << probe.error().describe();
    return nullptr;
  }
  auto b = std::unique_ptr<Bridge>(new Bridge{std::move(*maps), std::move(*probe), GpuIngest{}, {}, nullptr});
  b->ring = ring_buffer__new(b->probe.ring_fd(), &Bridge::on_sample, b.get(), nullptr);
  if (!b->ring) ADD_FAILURE() << "ring_buffer__new failed";
  return b;
}

// The socket is switched off: with a tracer attached the library must pick the probe anyway.
testing::ProgramResult run_emitter(const std::vector<std::string>& args, int& pid) {
  std::vector<std::string> argv{GPUTRACE_BATCH_EMITTER};
  argv.insert(argv.end(), args.begin(), args.end());
  auto running = testing::start_program(argv, {"GPUTRACE_CUPTI_SOCKET="});
  pid = running.pid;
  return testing::wait_program(running);
}

class UsdtBridge : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the bpf tier runs as root";
  }
};

TEST_F(UsdtBridge, BatchesArriveThroughProbeRingAndDecoderIntact) {
  auto bridge = attach_bridge();
  ASSERT_TRUE(bridge && bridge->ring);
  int pid = -1;
  const auto result = run_emitter({}, pid);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_GE(ring_buffer__consume(bridge->ring), 0);

  const Drained& d = bridge->drained;
  EXPECT_EQ(d.decode_errors, 0u);
  EXPECT_EQ(d.kinds.at(GT_EV_GPU_KERNEL), 3);
  EXPECT_EQ(d.kinds.at(GT_EV_GPU_NAME), 1);
  EXPECT_EQ(d.kinds.at(GT_EV_GPU_MEMCPY), 1);
  EXPECT_EQ(d.kinds.at(GT_EV_GPU_MEMSET), 1);
  EXPECT_EQ(d.kinds.at(GT_EV_GPU_STATUS), 1);
  EXPECT_EQ(d.kinds.at(GT_EV_GPU_DEVICE), 1);
  EXPECT_EQ(d.device.pci_bus, testing::kEmitterDeviceBus);
  EXPECT_STREQ(d.device.name, testing::kEmitterDeviceName);
  EXPECT_EQ(d.name, testing::kKernelName);
  EXPECT_EQ(d.memcpy_bytes, 4u << 20);
  ASSERT_EQ(d.kernels.size(), 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(d.kernels[i].correlation_id, 40 + i);
    EXPECT_EQ(d.kernels[i].hdr.ts_ns, 1000 + i * 100);
    EXPECT_EQ(d.kernels[i].end_ns, 1050 + i * 100);
    EXPECT_EQ(d.kernels[i].stream_id, 7u);
    EXPECT_EQ(d.kernels[i].block[0], 256u);
  }
  for (uint32_t p : d.pids) EXPECT_EQ(p, static_cast<uint32_t>(pid));  // the kernel's tgid

  auto stats = bridge->probe.read_stats();
  ASSERT_TRUE(stats) << stats.error().describe();
  // GT_GPU_PROBE_BATCHES counts batches copied into the ring: every one of them was drained. A
  // batch lost to a full ring never reached it (GT_GPU_PROBE_RING_FULL), and none was here.
  EXPECT_EQ((*stats)[GT_GPU_PROBE_BATCHES], d.ring_records);
  EXPECT_EQ((*stats)[GT_GPU_PROBE_RING_FULL], 0u);
  EXPECT_EQ(bridge->ingest.stats().batches, d.ring_records);
  EXPECT_EQ(bridge->ingest.stats().rejected_total(), 0u);
}

TEST_F(UsdtBridge, MalformedBatchesAreRejectedAndCounted) {
  auto bridge = attach_bridge();
  ASSERT_TRUE(bridge && bridge->ring);
  int pid = -1;
  const auto result = run_emitter({"--malformed"}, pid);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_GE(ring_buffer__consume(bridge->ring), 0);

  EXPECT_EQ(bridge->drained.kinds.at(GT_EV_GPU_KERNEL), 3);
  const auto& rejected = bridge->ingest.stats().rejected;
  EXPECT_EQ(bridge->ingest.stats().rejected_total(), testing::kMalformedRejectedByDaemon);
  EXPECT_EQ(rejected[static_cast<size_t>(BatchReject::BadMagic)], 1u);
  EXPECT_EQ(rejected[static_cast<size_t>(BatchReject::CountMismatch)], 1u);
  EXPECT_EQ(rejected[static_cast<size_t>(BatchReject::LengthMismatch)], 1u);
  EXPECT_EQ(rejected[static_cast<size_t>(BatchReject::BadName)], 1u);
  EXPECT_EQ(rejected[static_cast<size_t>(BatchReject::NotGpuRecord)], 1u);
  auto stats = bridge->probe.read_stats();
  ASSERT_TRUE(stats) << stats.error().describe();
  EXPECT_EQ((*stats)[GT_GPU_PROBE_BAD_LENGTH], 1u);  // the oversize batch never left the kernel
}

}  // namespace
}  // namespace gputrace::cupti
