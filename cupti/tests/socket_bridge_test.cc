// The SOCK_SEQPACKET fallback end to end, no root needed: the emitter (linked to the real
// library, no USDT tracer attached) connects to a SeqpacketListener and sends its batches;
// the daemon side checks the peer with SO_PEERCRED and validates every batch.
#include "userspace/gpu/gpu_ingest.h"
#include "temp_dir.h"
#include "userspace/gpu/seqpacket_listener.h"
#include "handmade_buffer.h"
#include "malformed_batches.h"
#include "subprocess.h"
#include "userspace/util/clock.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <string>

namespace gputrace::cupti {
namespace {

using ::gputrace::test_support::TempDir;

using testing::start_program;
using testing::wait_program;

struct Received {
  std::map<uint16_t, int> kinds;
  std::vector<pid_t> peers;
  std::vector<uint32_t> record_pids;
  std::vector<uint16_t> order;  // record kinds as received
  gt_gpu_device_event device{};
  uint64_t memcpy_bytes = 0;
};

// Runs the emitter against the listener until it exits and its datagrams are drained.
Received run_emitter(SeqpacketListener& listener, GpuIngest& ingest, const std::vector<std::string>& args,
                     pid_t& emitter_pid) {
  Received got;
  auto sink = [&](std::span<const std::byte> d, pid_t pid, uid_t) {
    got.peers.push_back(pid);
    ingest.ingest_datagram(d, static_cast<uint32_t>(pid), monotonic_ns(), [&](const Record& r) {
      ++got.kinds[r.header.kind];
      got.order.push_back(r.header.kind);
      if (r.header.kind == GT_EV_GPU_DEVICE) got.device = r.as<gt_gpu_device_event>();
      got.record_pids.push_back(r.header.pid);
      if (r.header.kind == GT_EV_GPU_MEMCPY) got.memcpy_bytes += r.as<gt_gpu_memcpy_event>().bytes;
    });
  };
  std::vector<std::string> argv{GPUTRACE_BATCH_EMITTER};
  argv.insert(argv.end(), args.begin(), args.end());
  auto running = start_program(argv, {"GPUTRACE_CUPTI_SOCKET=" + listener.path()});
  emitter_pid = running.pid;
  const auto result = wait_program(running);  // the emitter never waits on us: datagrams queue
  EXPECT_EQ(result.exit_code, 0) << result.err;
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(listener.poll_once(i == 0 ? 100 : 10, sink));
  return got;
}

TEST(SocketBridge, DeliversTheLibrarysBatchesAttributedToThePeer) {
  TempDir dir;
  auto listener = SeqpacketListener::bind(dir.file("cupti.sock"), {});
  ASSERT_TRUE(listener) << listener.error().describe();
  GpuIngest ingest;
  pid_t emitter = -1;
  const Received got = run_emitter(*listener, ingest, {}, emitter);
  EXPECT_EQ(got.kinds.at(GT_EV_GPU_KERNEL), 3);
  EXPECT_EQ(got.kinds.at(GT_EV_GPU_NAME), 1);
  EXPECT_EQ(got.kinds.at(GT_EV_GPU_MEMCPY), 1);
  EXPECT_EQ(got.kinds.at(GT_EV_GPU_MEMSET), 1);
  EXPECT_EQ(got.kinds.at(GT_EV_GPU_STATUS), 1);
  // Which PCI device CUDA device 0 is, ahead of all its activity.
  ASSERT_EQ(got.kinds.at(GT_EV_GPU_DEVICE), 1);
  EXPECT_EQ(got.order.front(), GT_EV_GPU_DEVICE);
  EXPECT_EQ(got.device.device_id, 0u);
  EXPECT_EQ(got.device.pci_domain, 0u);
  EXPECT_EQ(got.device.pci_bus, testing::kEmitterDeviceBus);
  EXPECT_EQ(got.device.pci_device, 0u);
  EXPECT_STREQ(got.device.name, testing::kEmitterDeviceName);
  EXPECT_EQ(got.memcpy_bytes, 4u << 20);
  for (pid_t p : got.peers) EXPECT_EQ(p, emitter);
  for (uint32_t p : got.record_pids) EXPECT_EQ(p, static_cast<uint32_t>(emitter));
  EXPECT_EQ(listener->stats().connections, 1u);
  EXPECT_EQ(ingest.stats().rejected_total(), 0u);
}

TEST(SocketBridge, RejectsAndCountsMalformedBatches) {
  TempDir dir;
  auto listener = SeqpacketListener::bind(dir.file("cupti.sock"), {});
  ASSERT_TRUE(listener) << listener.error().describe();
  GpuIngest ingest;
  pid_t emitter = -1;
  const Received got = run_emitter(*listener, ingest, {"--malformed"}, emitter);
  EXPECT_EQ(got.kinds.at(GT_EV_GPU_KERNEL), 3);  // the good batches still count
  const auto& rejected = ingest.stats().rejected;
  EXPECT_EQ(ingest.stats().rejected_total(), testing::kMalformedRejectedByDaemon);
  EXPECT_EQ(rejected[static_cast<size_t>(BatchReject::BadMagic)], 1u);
  EXPECT_EQ(rejected[static_cast<size_t>(BatchReject::CountMismatch)], 1u);
  EXPECT_EQ(rejected[static_cast<size_t>(BatchReject::LengthMismatch)], 1u);
  EXPECT_EQ(rejected[static_cast<size_t>(BatchReject::BadName)], 1u);
  EXPECT_EQ(rejected[static_cast<size_t>(BatchReject::NotGpuRecord)], 1u);
  EXPECT_EQ(listener->stats().oversize, 1u);
}

TEST(SocketBridge, RefusesPeersThePolicyExcludes) {
  TempDir dir;
  PeerPolicy only_another_user{.only_uid = ::getuid() + 1, .accept_pid = {}};
  auto listener = SeqpacketListener::bind(dir.file("cupti.sock"), only_another_user);
  ASSERT_TRUE(listener) << listener.error().describe();
  GpuIngest ingest;
  pid_t emitter = -1;
  const Received got = run_emitter(*listener, ingest, {}, emitter);
  EXPECT_TRUE(got.kinds.empty());
  EXPECT_EQ(listener->stats().refused_peer, 1u);
  EXPECT_EQ(listener->stats().connections, 0u);
}

}  // namespace
}  // namespace gputrace::cupti
