// ActivityProcessor on hand-made buffers walked by libcupti's own cuptiActivityGetNextRecord
// (which works without a driver): the library's real buffer path, minus the GPU.
#include "cupti/activity_processor.h"

#include "capture_transport.h"
#include "userspace/decode/decoder.h"
#include "userspace/gpu/batch_validator.h"
#include "handmade_buffer.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

namespace gputrace::cupti {
namespace {

using testing::CaptureTransport;
using testing::HandmadeBuffer;

std::map<uint16_t, std::vector<std::vector<std::byte>>> by_kind(const CaptureTransport& t) {
  std::map<uint16_t, std::vector<std::vector<std::byte>>> out;
  for (const auto& b : t.batches) {
    auto batch = validate_batch(b, 1);
    EXPECT_TRUE(batch) << describe(batch.error());
    if (batch)
      decode_stream(batch->records, [&](const Record& r) { out[r.header.kind].emplace_back(r.bytes.begin(), r.bytes.end()); });
  }
  return out;
}

template <class T>
T as(const std::vector<std::byte>& bytes) {
  T v{};
  std::memcpy(&v, bytes.data(), std::min(sizeof(T), bytes.size()));
  return v;
}

// One processor per test, on a capturing transport and its own clock (CUPTI's timestamp
// callback off unless the test turns it on).
class ActivityProcessorTest : public ::testing::Test {
 protected:
  CaptureTransport transport;
  ClockAlignment clock;
  ActivityProcessor processor{transport, clock, 77};
};

TEST_F(ActivityProcessorTest, WalksACuptiBufferWithLibcuptisIterator) {
  clock.use_callback();
  HandmadeBuffer buf;
  testing::fill_reference_activity(buf);
  auto& context = buf.add<testing::LatestContext>();  // a kind gputrace does not ship
  context.kind = CUPTI_ACTIVITY_KIND_CONTEXT;
  context.contextId = 1;
  processor.process_buffer(buf.data(), buf.size());

  auto kinds = by_kind(transport);
  ASSERT_EQ(kinds[GT_EV_GPU_KERNEL].size(), 3u);
  ASSERT_EQ(kinds[GT_EV_GPU_NAME].size(), 1u);
  ASSERT_EQ(kinds[GT_EV_GPU_MEMCPY].size(), 1u);
  ASSERT_EQ(kinds[GT_EV_GPU_MEMSET].size(), 1u);
  ASSERT_EQ(kinds[GT_EV_GPU_STATUS].size(), 1u);
  const auto k2 = as<gt_gpu_kernel_event>(kinds[GT_EV_GPU_KERNEL][2]);
  EXPECT_EQ(k2.correlation_id, 42u);
  EXPECT_EQ(k2.hdr.ts_ns, 1200u);
  EXPECT_EQ(k2.grid[0], 4096u);
  const auto m = as<gt_gpu_memcpy_event>(kinds[GT_EV_GPU_MEMCPY][0]);
  EXPECT_EQ(m.bytes, 4u << 20);
  EXPECT_EQ(m.copy_kind, GT_GPU_COPY_HTOD);
  const auto st = as<gt_gpu_status_event>(kinds[GT_EV_GPU_STATUS][0]);
  EXPECT_EQ(st.state, GT_GPU_STATE_ACTIVE);
  EXPECT_EQ(st.clock_mode, GT_GPU_CLOCK_MONOTONIC);
  EXPECT_EQ(st.records, 5u);

  const ProcessorStats s = processor.stats();
  EXPECT_EQ(s.records, 5u);
  EXPECT_EQ(s.skipped, 1u);
  EXPECT_EQ(s.dropped_local, 0u);
}

// The batch path end to end for GT_EV_GPU_DEVICE: a device described before any activity
// (as the context-created callback does) goes out in the first batch, ahead of the first
// activity on it, and the daemon's validator accepts that batch.
TEST_F(ActivityProcessorTest, SendsTheDeviceAheadOfItsActivityInAValidBatch) {
  clock.use_callback();
  ASSERT_TRUE(processor.add_device(*make_device_record(0, 0x0000, 0x41, 0x00, "NVIDIA H100 80GB HBM3")));
  EXPECT_FALSE(processor.add_device(*make_device_record(0, 0x0000, 0x99, 0x00, "again")));
  EXPECT_TRUE(processor.add_unresolved_device(1));
  EXPECT_FALSE(processor.add_unresolved_device(1));
  EXPECT_TRUE(processor.device_known(0));
  EXPECT_TRUE(processor.device_known(1));
  EXPECT_FALSE(processor.device_known(2));
  HandmadeBuffer buf;
  testing::fill_reference_activity(buf);  // every record on device 0
  processor.process_buffer(buf.data(), buf.size());
  processor.process_buffer(buf.data(), buf.size());  // same receiver: not again

  ASSERT_FALSE(transport.batches.empty());
  auto first = validate_batch(transport.batches[0], 1);
  ASSERT_TRUE(first) << describe(first.error());
  std::vector<uint16_t> order;
  gt_gpu_device_event device{};
  decode_stream(first->records, [&](const Record& r) {
    order.push_back(r.header.kind);
    if (r.header.kind == GT_EV_GPU_DEVICE) device = r.as<gt_gpu_device_event>();
  });
  ASSERT_FALSE(order.empty());
  EXPECT_EQ(order[0], GT_EV_GPU_DEVICE);
  EXPECT_EQ(device.device_id, 0u);
  EXPECT_EQ(device.pci_bus, 0x41u);
  EXPECT_STREQ(device.name, "NVIDIA H100 80GB HBM3");
  auto kinds = by_kind(transport);
  EXPECT_EQ(kinds[GT_EV_GPU_DEVICE].size(), 1u);
  EXPECT_EQ(kinds[GT_EV_GPU_KERNEL].size(), 6u);
  const ProcessorStats s = processor.stats();
  EXPECT_EQ(s.devices_described, 1u);
  EXPECT_EQ(s.devices_unresolved, 1u);
  EXPECT_EQ(s.records, 10u);  // activity only: the device record is not counted as converted
}

TEST_F(ActivityProcessorTest, ResendsTheDeviceAfterALostBatchAndToANewReceiver) {
  processor.add_device(*make_device_record(0, 0, 0x41, 0, "gpu"));
  HandmadeBuffer buf;
  testing::fill_reference_activity(buf);
  transport.set_refuse(true);
  processor.process_buffer(buf.data(), buf.size());  // lost, device record with it
  transport.set_refuse(false);
  processor.process_buffer(buf.data(), buf.size());
  EXPECT_EQ(by_kind(transport)[GT_EV_GPU_DEVICE].size(), 1u);
  transport.batches.clear();
  transport.new_receiver();
  processor.process_buffer(buf.data(), buf.size());
  EXPECT_EQ(by_kind(transport)[GT_EV_GPU_DEVICE].size(), 1u);
}

TEST_F(ActivityProcessorTest, DoesNoWorkWithoutATracer) {
  transport.set_active(false);
  HandmadeBuffer buf;
  testing::fill_reference_activity(buf);
  processor.process_buffer(buf.data(), buf.size());
  EXPECT_TRUE(transport.batches.empty());
  EXPECT_EQ(processor.stats().records, 0u);
  EXPECT_EQ(processor.stats().unobserved, 1u);
}

TEST_F(ActivityProcessorTest, ResendsNamesAfterALostBatchAndReportsDrops) {
  HandmadeBuffer buf;
  testing::fill_reference_activity(buf);
  transport.set_refuse(true);
  processor.process_buffer(buf.data(), buf.size());
  processor.add_cupti_dropped(9);
  transport.set_refuse(false);
  processor.process_buffer(buf.data(), buf.size());

  auto kinds = by_kind(transport);
  EXPECT_EQ(kinds[GT_EV_GPU_NAME].size(), 1u);  // the first was lost with its batch
  EXPECT_EQ(kinds[GT_EV_GPU_KERNEL].size(), 3u);
  ASSERT_FALSE(kinds[GT_EV_GPU_STATUS].empty());
  const auto st = as<gt_gpu_status_event>(kinds[GT_EV_GPU_STATUS].back());
  EXPECT_EQ(st.dropped_local, 9u);  // the refused batches: name, 3 kernels, memcpy, memset; status, losses, guards
  EXPECT_EQ(st.dropped_cupti, 9u);
}

// A buffer that fills several batches, kernels cycling through 8 names, all on device 0.
struct ManyKernels {
  std::vector<std::string> names;
  HandmadeBuffer buf;
  explicit ManyKernels(uint32_t kernels) {
    for (int i = 0; i < 8; ++i) names.push_back("_Z7kernel" + std::to_string(i) + "Pf");
    for (uint32_t i = 0; i < kernels; ++i) {
      auto& k = buf.add<testing::LatestKernel>();
      k.kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
      k.start = 1000 + i;
      k.end = 1001 + i;
      k.correlationId = i;
      k.name = names[i % names.size()].c_str();
    }
  }
};

// What the daemon can resolve from the batches that arrived, in order: every kernel whose name
// id or device was announced in an earlier batch or earlier in its own. Returns the kernels
// that refer to a name or device the daemon never heard of.
size_t unresolved_references(const CaptureTransport& t, size_t& kernels) {
  std::set<uint64_t> names;
  std::set<uint32_t> devices;
  size_t unresolved = 0;
  kernels = 0;
  for (const auto& b : t.batches) {
    auto batch = validate_batch(b, 1);
    EXPECT_TRUE(batch) << describe(batch.error());
    if (!batch) continue;
    decode_stream(batch->records, [&](const Record& r) {
      if (r.header.kind == GT_EV_GPU_NAME) names.insert(r.as<gt_gpu_name_event>().name_id);
      if (r.header.kind == GT_EV_GPU_DEVICE) devices.insert(r.as<gt_gpu_device_event>().device_id);
      if (r.header.kind == GT_EV_GPU_KERNEL) {
        ++kernels;
        const auto k = r.as<gt_gpu_kernel_event>();
        unresolved += !names.count(k.name_id) || !devices.count(k.device_id);
      }
    });
  }
  return unresolved;
}

// One early batch of a buffer is refused (the daemon's socket was full for a moment): the
// names and the device record it carried must go out again in the very next batch, not after
// the whole buffer, or every later batch of the buffer refers to ids the daemon never saw.
TEST_F(ActivityProcessorTest, AOneBatchLossIsRepairedInTheNextBatch) {
  clock.use_callback();
  processor.add_device(*make_device_record(0, 0, 0x41, 0, "gpu"));
  ManyKernels many(600);  // about four batches
  transport.refuse_only(0);
  processor.process_buffer(many.buf.data(), many.buf.size());
  ASSERT_GE(transport.batches.size(), 3u);  // the refused one is not among them
  size_t kernels = 0;
  EXPECT_EQ(unresolved_references(transport, kernels), 0u);
  EXPECT_LT(kernels, 600u);  // the refused batch's kernels are lost, and counted
  EXPECT_EQ(processor.stats().dropped_local, 600u - kernels + 9u);  // with the 8 names and the device
}

// The USDT route cannot see a batch lost to a full BPF ring: the probe fires and returns. The
// periodic announce_again is what brings names and devices back.
TEST_F(ActivityProcessorTest, AnnouncesAgainForLossesItCannotSee) {
  clock.use_callback();
  processor.add_device(*make_device_record(0, 0, 0x41, 0, "gpu"));
  HandmadeBuffer buf;
  testing::fill_reference_activity(buf);
  processor.process_buffer(buf.data(), buf.size());
  transport.batches.clear();  // "delivered", then lost in the ring: the library cannot tell
  processor.process_buffer(buf.data(), buf.size());
  auto kinds = by_kind(transport);
  EXPECT_EQ(kinds[GT_EV_GPU_NAME].size(), 0u);  // as far as the library knows, the receiver has it
  EXPECT_EQ(kinds[GT_EV_GPU_DEVICE].size(), 0u);
  transport.batches.clear();
  processor.announce_again();
  processor.process_buffer(buf.data(), buf.size());
  kinds = by_kind(transport);
  EXPECT_EQ(kinds[GT_EV_GPU_NAME].size(), 1u);
  EXPECT_EQ(kinds[GT_EV_GPU_DEVICE].size(), 1u);
  size_t kernels = 0;
  EXPECT_EQ(unresolved_references(transport, kernels), 0u);
  EXPECT_EQ(kernels, 3u);
}

TEST_F(ActivityProcessorTest, CountsUntimedRecords) {
  HandmadeBuffer buf;
  testing::fill_reference_activity(buf);
  auto& untimed = buf.add<testing::LatestKernel>();
  untimed.kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;  // start = end = 0: CUPTI could not time it
  untimed.name = "untimed";
  processor.process_buffer(buf.data(), buf.size());
  EXPECT_EQ(processor.stats().incomplete, 1u);
  EXPECT_EQ(processor.stats().records, 5u);
  EXPECT_EQ(by_kind(transport)[GT_EV_GPU_KERNEL].size(), 3u);
  // ... and the daemon hears of it, with the status.
  processor.send_status(true);
  const auto losses = by_kind(transport)[GT_EV_GPU_LIB_LOSSES];
  ASSERT_FALSE(losses.empty());
  const auto sent = as<gt_gpu_lib_losses_event>(losses.back());
  EXPECT_EQ(sent.untimed, 1u);
  EXPECT_EQ(sent.truncated, 0u);
  EXPECT_EQ(sent.headers_version, static_cast<uint32_t>(CUPTI_API_VERSION));
  EXPECT_EQ(sent.flags, 0u);  // these headers are within the checked layouts
}

// libcupti stops walking at a record kind it does not know (a newer CUPTI's, or garbage): the
// rest of the buffer is lost, and counted, not silently skipped.
TEST_F(ActivityProcessorTest, CountsABufferLibcuptiCouldNotWalkToTheEnd) {
  HandmadeBuffer buf;
  testing::fill_reference_activity(buf);
  buf.add<testing::LatestKernel>().kind = static_cast<CUpti_ActivityKind>(0x7ffffff0);
  testing::fill_reference_activity(buf);
  processor.process_buffer(buf.data(), buf.size());
  EXPECT_EQ(processor.stats().records, 5u);  // the walk ended at the unknown kind
  EXPECT_EQ(processor.stats().buffers_cut_short, 1u);
  HandmadeBuffer whole;
  testing::fill_reference_activity(whole);
  processor.process_buffer(whole.data(), whole.size());
  EXPECT_EQ(processor.stats().buffers_cut_short, 1u);  // a buffer walked to its end is not
}

TEST_F(ActivityProcessorTest, StatusNamesTheOtherSubscriber) {
  processor.set_state(GT_GPU_STATE_OTHER_SUBSCRIBER, CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED, 130001,
                      "Nsight Systems");
  processor.send_status(true);
  auto kinds = by_kind(transport);
  ASSERT_EQ(kinds[GT_EV_GPU_STATUS].size(), 1u);
  const auto st = as<gt_gpu_status_event>(kinds[GT_EV_GPU_STATUS][0]);
  EXPECT_EQ(st.state, GT_GPU_STATE_OTHER_SUBSCRIBER);
  EXPECT_EQ(st.cupti_result, CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED);
  EXPECT_STREQ(st.holder, "Nsight Systems");
  processor.send_status(false);  // nothing changed: nothing sent
  EXPECT_EQ(transport.batches.size(), 1u);
}

}  // namespace
}  // namespace gputrace::cupti
