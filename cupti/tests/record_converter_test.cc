// RecordConverter on hand-filled CUPTI records of every version the library supports, checked
// through the daemon's own validator: what the library writes is what the daemon accepts.
#include "cupti/record_converter.h"

#include "capture_transport.h"
#include "userspace/decode/decoder.h"
#include "userspace/gpu/batch_validator.h"
#include "latest_records.h"

#include <cupti.h>
#include <gtest/gtest.h>

#include <cstring>
#include <span>
#include <string>
#include <vector>

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // old record versions on purpose

namespace gputrace::cupti {
namespace {

using testing::CaptureTransport;
using testing::LatestKernel;
using testing::LatestMemcpy;
using testing::LatestMemory;
using testing::LatestMemset;

struct Harness {
  CaptureTransport transport;
  ClockAlignment clock;
  NameTable names;
  DeviceAnnouncer devices;
  BatchWriter writer{transport, 1234};
  RecordConverter converter{names, devices, 1234};

  template <class T>
  RecordConverter::Outcome convert(const T& rec) {
    return converter.convert({reinterpret_cast<const std::byte*>(&rec), sizeof(T)}, transport.epoch(),
                             clock.offset_ns(), writer);
  }
  // Flushes and returns the validated records, in order.
  std::vector<std::vector<std::byte>> records() {
    writer.flush();
    std::vector<std::vector<std::byte>> out;
    for (const auto& b : transport.batches) {
      auto batch = validate_batch(b, 4321);
      EXPECT_TRUE(batch) << describe(batch.error());
      if (!batch) continue;
      decode_stream(batch->records, [&](const Record& r) { out.emplace_back(r.bytes.begin(), r.bytes.end()); });
    }
    return out;
  }
};

template <class T>
T as(const std::vector<std::byte>& bytes) {
  T v{};
  std::memcpy(&v, bytes.data(), std::min(sizeof(T), bytes.size()));
  return v;
}

std::string name_of(const std::vector<std::byte>& bytes) {
  const auto e = as<gt_gpu_name_event>(bytes);
  return std::string(reinterpret_cast<const char*>(bytes.data()) + sizeof(e), e.name_len);
}

template <class K>
class KernelVersions : public ::testing::Test {};
// Every version the installed headers declare (activity_layout_check.cc checks the same set).
using KernelTypes = ::testing::Types<CUpti_ActivityKernel5, CUpti_ActivityKernel6, CUpti_ActivityKernel7,
                                     CUpti_ActivityKernel8, CUpti_ActivityKernel9
#if CUPTI_API_VERSION >= 130000
                                     , CUpti_ActivityKernel10
#endif
                                     >;
TYPED_TEST_SUITE(KernelVersions, KernelTypes);

TYPED_TEST(KernelVersions, ConvertsEveryShippedField) {
  Harness h;
  TypeParam k{};
  k.kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
  k.start = 1000;
  k.end = 2500;
  k.deviceId = 3;
  k.contextId = 4;
  k.streamId = 7;
  k.correlationId = 99;
  k.gridX = 10, k.gridY = 11, k.gridZ = 12;
  k.blockX = 128, k.blockY = 2, k.blockZ = 1;
  k.graphId = 5;
  k.name = "_Z6vecaddPKfS0_Pfi";
  ASSERT_EQ(h.convert(k), RecordConverter::Outcome::Converted);
  const auto recs = h.records();
  ASSERT_EQ(recs.size(), 2u);  // the name, then the kernel
  EXPECT_EQ(as<gt_event_header>(recs[0]).kind, GT_EV_GPU_NAME);
  EXPECT_EQ(name_of(recs[0]), "_Z6vecaddPKfS0_Pfi");
  const auto e = as<gt_gpu_kernel_event>(recs[1]);
  EXPECT_EQ(e.hdr.kind, GT_EV_GPU_KERNEL);
  EXPECT_EQ(e.hdr.pid, 4321u);  // the validator's trusted pid, not the library's claim
  EXPECT_EQ(e.hdr.cpu, GT_GPU_NO_CPU);
  EXPECT_EQ(e.hdr.ts_ns, 1000u);
  EXPECT_EQ(e.end_ns, 2500u);
  EXPECT_EQ(e.name_id, as<gt_gpu_name_event>(recs[0]).name_id);
  EXPECT_EQ(e.device_id, 3u);
  EXPECT_EQ(e.context_id, 4u);
  EXPECT_EQ(e.stream_id, 7u);
  EXPECT_EQ(e.correlation_id, 99u);
  EXPECT_EQ(e.graph_id, 5u);
  EXPECT_EQ(e.grid[0], 10u);
  EXPECT_EQ(e.grid[2], 12u);
  EXPECT_EQ(e.block[0], 128u);
  EXPECT_EQ(e.block[1], 2u);
}

template <class M>
class MemcpyVersions : public ::testing::Test {};
using MemcpyTypes = ::testing::Types<CUpti_ActivityMemcpy, CUpti_ActivityMemcpy3, CUpti_ActivityMemcpy4,
                                     CUpti_ActivityMemcpy5
#if CUPTI_API_VERSION >= 26
                                     , CUpti_ActivityMemcpy6
#endif
                                     >;
TYPED_TEST_SUITE(MemcpyVersions, MemcpyTypes);

TYPED_TEST(MemcpyVersions, ConvertsEveryShippedField) {
  Harness h;
  TypeParam m{};
  m.kind = CUPTI_ACTIVITY_KIND_MEMCPY;
  m.copyKind = CUPTI_ACTIVITY_MEMCPY_KIND_DTOH;
  m.srcKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
  m.dstKind = CUPTI_ACTIVITY_MEMORY_KIND_PINNED;
  m.flags = CUPTI_ACTIVITY_FLAG_MEMCPY_ASYNC;
  m.bytes = 4u << 20;
  m.start = 10;
  m.end = 20;
  m.deviceId = 1;
  m.contextId = 2;
  m.streamId = 13;
  m.correlationId = 77;
  ASSERT_EQ(h.convert(m), RecordConverter::Outcome::Converted);
  const auto recs = h.records();
  ASSERT_EQ(recs.size(), 1u);
  const auto e = as<gt_gpu_memcpy_event>(recs[0]);
  EXPECT_EQ(e.hdr.kind, GT_EV_GPU_MEMCPY);
  EXPECT_EQ(e.hdr.ts_ns, 10u);
  EXPECT_EQ(e.end_ns, 20u);
  EXPECT_EQ(e.bytes, 4u << 20);
  EXPECT_EQ(e.copy_kind, GT_GPU_COPY_DTOH);
  EXPECT_EQ(e.src_kind, CUPTI_ACTIVITY_MEMORY_KIND_DEVICE);
  EXPECT_EQ(e.dst_kind, CUPTI_ACTIVITY_MEMORY_KIND_PINNED);
  EXPECT_EQ(e.flags, CUPTI_ACTIVITY_FLAG_MEMCPY_ASYNC);
  EXPECT_EQ(e.device_id, 1u);
  EXPECT_EQ(e.context_id, 2u);
  EXPECT_EQ(e.stream_id, 13u);
  EXPECT_EQ(e.correlation_id, 77u);
}

template <class S>
class MemsetVersions : public ::testing::Test {};
using MemsetTypes = ::testing::Types<CUpti_ActivityMemset, CUpti_ActivityMemset2, CUpti_ActivityMemset3,
                                     CUpti_ActivityMemset4>;
TYPED_TEST_SUITE(MemsetVersions, MemsetTypes);

TYPED_TEST(MemsetVersions, ConvertsEveryShippedField) {
  Harness h;
  TypeParam s{};
  s.kind = CUPTI_ACTIVITY_KIND_MEMSET;
  s.value = 0xab;
  s.bytes = 4096;
  s.start = 5;
  s.end = 6;
  s.deviceId = 2;
  s.contextId = 3;
  s.streamId = 9;
  s.correlationId = 11;
  s.flags = CUPTI_ACTIVITY_FLAG_MEMSET_ASYNC;
  s.memoryKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
  ASSERT_EQ(h.convert(s), RecordConverter::Outcome::Converted);
  const auto recs = h.records();
  ASSERT_EQ(recs.size(), 1u);
  const auto e = as<gt_gpu_memset_event>(recs[0]);
  EXPECT_EQ(e.hdr.kind, GT_EV_GPU_MEMSET);
  EXPECT_EQ(e.bytes, 4096u);
  EXPECT_EQ(e.value, 0xabu);
  EXPECT_EQ(e.hdr.ts_ns, 5u);
  EXPECT_EQ(e.end_ns, 6u);
  EXPECT_EQ(e.device_id, 2u);
  EXPECT_EQ(e.context_id, 3u);
  EXPECT_EQ(e.stream_id, 9u);
  EXPECT_EQ(e.correlation_id, 11u);
  EXPECT_EQ(e.flags, CUPTI_ACTIVITY_FLAG_MEMSET_ASYNC);
  EXPECT_EQ(e.memory_kind, CUPTI_ACTIVITY_MEMORY_KIND_DEVICE);
}

template <class M>
class MemoryVersions : public ::testing::Test {};
using MemoryTypes = ::testing::Types<CUpti_ActivityMemory2, CUpti_ActivityMemory3
#if CUPTI_API_VERSION >= 24
                                     , CUpti_ActivityMemory4
#endif
                                     >;
TYPED_TEST_SUITE(MemoryVersions, MemoryTypes);

TYPED_TEST(MemoryVersions, ConvertsAllocationsAndReleasesOnly) {
  Harness h;
  TypeParam m{};
  m.kind = CUPTI_ACTIVITY_KIND_MEMORY2;
  m.memoryOperationType = CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_RELEASE;
  m.memoryKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
  m.address = 0x7f0000000000ull;
  m.bytes = 1 << 20;
  m.timestamp = 777;
  m.deviceId = 1;
  m.streamId = 3;
  m.correlationId = 5;
  ASSERT_EQ(h.convert(m), RecordConverter::Outcome::Converted);
  m.memoryOperationType = CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_INVALID;
  EXPECT_EQ(h.convert(m), RecordConverter::Outcome::Skipped);
  const auto recs = h.records();
  ASSERT_EQ(recs.size(), 1u);
  const auto e = as<gt_gpu_memory_event>(recs[0]);
  EXPECT_EQ(e.op, GT_GPU_MEMORY_RELEASE);
  EXPECT_EQ(e.address, 0x7f0000000000ull);
  EXPECT_EQ(e.bytes, 1u << 20);
  EXPECT_EQ(e.hdr.ts_ns, 777u);
  EXPECT_EQ(e.device_id, 1u);
  EXPECT_EQ(e.stream_id, 3u);
  EXPECT_EQ(e.correlation_id, 5u);
}

TEST(RecordConverter, ConvertsRuntimeAndDriverCalls) {
  Harness h;
  CUpti_ActivityAPI a{};
  a.kind = CUPTI_ACTIVITY_KIND_RUNTIME;
  a.cbid = CUPTI_RUNTIME_TRACE_CBID_cudaMemcpy_v3020;
  a.start = 1;
  a.end = 2;
  a.threadId = 1234;
  a.correlationId = 11;
  a.returnValue = 0;
  ASSERT_EQ(h.convert(a), RecordConverter::Outcome::Converted);
  a.kind = CUPTI_ACTIVITY_KIND_DRIVER;
  ASSERT_EQ(h.convert(a), RecordConverter::Outcome::Converted);
  const auto recs = h.records();
  ASSERT_EQ(recs.size(), 2u);
  const auto rt = as<gt_gpu_api_event>(recs[0]);
  EXPECT_EQ(rt.domain, GT_GPU_API_RUNTIME);
  EXPECT_EQ(rt.cbid, static_cast<uint32_t>(CUPTI_RUNTIME_TRACE_CBID_cudaMemcpy_v3020));
  EXPECT_EQ(rt.hdr.tid, 1234u);
  EXPECT_EQ(rt.correlation_id, 11u);
  EXPECT_EQ(as<gt_gpu_api_event>(recs[1]).domain, GT_GPU_API_DRIVER);
}

// CUPTI writes 0 where it could not collect a timestamp (cupti_activity.h: "A value of 0 for both
// the start and end timestamps indicates that timestamp information could not be collected").
// Shipped, such a record would sit at boot time on the daemon's timeline.
TEST(RecordConverter, RefusesRecordsCuptiCouldNotTime) {
  Harness h;
  using O = RecordConverter::Outcome;
  for (auto [start, end] : {std::pair<uint64_t, uint64_t>{0, 0}, {0, 5}, {5, 0}}) {
    LatestKernel k{};
    k.kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
    k.start = start, k.end = end, k.name = "k";
    EXPECT_EQ(h.convert(k), O::Incomplete) << start << "," << end;
    LatestMemcpy m{};
    m.kind = CUPTI_ACTIVITY_KIND_MEMCPY;
    m.start = start, m.end = end;
    EXPECT_EQ(h.convert(m), O::Incomplete) << start << "," << end;
    LatestMemset s{};
    s.kind = CUPTI_ACTIVITY_KIND_MEMSET;
    s.start = start, s.end = end;
    EXPECT_EQ(h.convert(s), O::Incomplete) << start << "," << end;
    CUpti_ActivityAPI a{};
    a.kind = CUPTI_ACTIVITY_KIND_RUNTIME;
    a.start = start, a.end = end;
    EXPECT_EQ(h.convert(a), O::Incomplete) << start << "," << end;
  }
  LatestMemory mem{};
  mem.kind = CUPTI_ACTIVITY_KIND_MEMORY2;
  mem.memoryOperationType = CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_ALLOCATION;
  mem.timestamp = 0;
  EXPECT_EQ(h.convert(mem), O::Incomplete);
  EXPECT_TRUE(h.records().empty());
  EXPECT_EQ(h.names.size(), 0u);  // an untimed kernel does not even intern its name
}

TEST(RecordConverter, SkipsOtherKindsAndRefusesShortOrUntimedRecords) {
  Harness h;
  testing::LatestContext c{};
  c.kind = CUPTI_ACTIVITY_KIND_CONTEXT;
  EXPECT_EQ(h.convert(c), RecordConverter::Outcome::Skipped);
  LatestKernel k{};
  k.kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
  k.start = 10;
  k.end = 5;
  EXPECT_EQ(h.convert(k), RecordConverter::Outcome::Incomplete);
  k.end = 20;
  // A record cut by the end of its buffer is never read past that end.
  EXPECT_EQ(h.converter.convert({reinterpret_cast<const std::byte*>(&k), 100}, 1, 0, h.writer),
            RecordConverter::Outcome::Truncated);
  EXPECT_TRUE(h.records().empty());
}

TEST(RecordConverter, SendsEachNameOncePerReceiverAndAfterALostBatch) {
  Harness h;
  LatestKernel k{};
  k.kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
  k.start = 1;
  k.end = 2;
  k.name = "a";
  h.convert(k);
  h.convert(k);
  k.name = "b";
  h.convert(k);
  auto count_names = [&] {
    size_t n = 0;
    for (const auto& r : h.records()) n += as<gt_event_header>(r).kind == GT_EV_GPU_NAME;
    h.transport.batches.clear();
    return n;
  };
  EXPECT_EQ(count_names(), 2u);
  h.convert(k);
  EXPECT_EQ(count_names(), 0u);
  h.transport.new_receiver();  // a tracer attached later: it has never seen "b"
  h.convert(k);
  EXPECT_EQ(count_names(), 1u);
  h.names.resend_all();  // a batch was lost
  h.convert(k);
  EXPECT_EQ(count_names(), 1u);
}

TEST(RecordConverter, CutsOverlongNamesAndFlagsThem) {
  Harness h;
  const std::string long_name(GT_GPU_NAME_MAX + 500, 'x');
  LatestKernel k{};
  k.kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
  k.start = 1;
  k.end = 2;
  k.name = long_name.c_str();
  h.convert(k);
  const auto recs = h.records();
  ASSERT_EQ(recs.size(), 2u);
  const auto n = as<gt_gpu_name_event>(recs[0]);
  EXPECT_EQ(n.name_len, GT_GPU_NAME_MAX - 1u);
  EXPECT_EQ(n.flags & GT_GPU_NAME_TRUNCATED, GT_GPU_NAME_TRUNCATED);
}

// The daemon refuses a whole batch for a name with a control character or broken UTF-8: the
// library never sends one (records() runs every batch through the daemon's validator).
TEST(RecordConverter, ShipsNamesAsPrintableAscii) {
  Harness h;
  std::string odd = "vec\x1b[2Jadd_caf\xc3\xa9";
  std::string cut(GT_GPU_NAME_MAX - 2, 'x');
  cut += "\xe2\x82\xac";  // a multibyte character across the cut
  LatestKernel k{};
  k.kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
  k.start = 1;
  k.end = 2;
  k.name = odd.c_str();
  h.convert(k);
  k.name = cut.c_str();
  h.convert(k);
  std::vector<std::string> names;
  for (const auto& r : h.records()) {
    if (as<gt_event_header>(r).kind != GT_EV_GPU_NAME) continue;
    const auto n = as<gt_gpu_name_event>(r);
    names.emplace_back(reinterpret_cast<const char*>(r.data()) + sizeof(n), n.name_len);
  }
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], "vec?[2Jadd_caf??");
  EXPECT_EQ(names[1], std::string(GT_GPU_NAME_MAX - 2, 'x') + "?");
}

TEST(RecordConverter, AppliesTheCalibratedClockOffset) {
  Harness h;
  // A fake CUPTI clock exactly 1 s behind CLOCK_MONOTONIC.
  ASSERT_TRUE(h.clock.calibrate(
      [](uint64_t& ts) {
        ts = ClockAlignment::monotonic_now() - 1'000'000'000;
        return true;
      },
      50));
  EXPECT_EQ(h.clock.mode(), GT_GPU_CLOCK_CALIBRATED);
  EXPECT_NEAR(static_cast<double>(h.clock.offset_ns()), 1e9,
              static_cast<double>(h.clock.error_ns(ClockAlignment::monotonic_now())) + 1e6);
  LatestMemset s{};
  s.kind = CUPTI_ACTIVITY_KIND_MEMSET;
  s.start = 5'000'000'000;
  s.end = 5'000'000'100;
  h.convert(s);
  const auto e = as<gt_gpu_memset_event>(h.records().at(0));
  EXPECT_EQ(e.hdr.ts_ns, 5'000'000'000 + static_cast<uint64_t>(h.clock.offset_ns()));
  EXPECT_EQ(e.end_ns - e.hdr.ts_ns, 100u);
}

// GT_EV_GPU_DEVICE through the daemon's validator: the PCI address of a described device goes
// out ahead of its first activity of any kind, once per receiver; other devices get none.
TEST(RecordConverter, SendsTheDeviceRecordAheadOfItsFirstActivity) {
  Harness h;
  ASSERT_TRUE(h.devices.learn(*make_device_record(3, 0x0001, 0xc1, 0x00, "NVIDIA H100 80GB HBM3")));
  LatestKernel k{};
  k.kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
  k.start = 100;
  k.end = 200;
  k.deviceId = 3;
  k.name = "k";
  ASSERT_EQ(h.convert(k), RecordConverter::Outcome::Converted);
  ASSERT_EQ(h.convert(k), RecordConverter::Outcome::Converted);
  LatestMemcpy m{};
  m.kind = CUPTI_ACTIVITY_KIND_MEMCPY;
  m.start = 1;
  m.end = 2;
  m.deviceId = 3;
  ASSERT_EQ(h.convert(m), RecordConverter::Outcome::Converted);
  m.deviceId = 5;  // no context seen on it: the daemon falls back to PCI order
  ASSERT_EQ(h.convert(m), RecordConverter::Outcome::Converted);
  const auto recs = h.records();
  ASSERT_EQ(h.transport.batches.size(), 1u);  // the device record rides in the activity's batch
  ASSERT_EQ(recs.size(), 6u);
  EXPECT_EQ(as<gt_event_header>(recs[0]).kind, GT_EV_GPU_DEVICE);
  EXPECT_EQ(as<gt_event_header>(recs[1]).kind, GT_EV_GPU_NAME);
  EXPECT_EQ(as<gt_event_header>(recs[2]).kind, GT_EV_GPU_KERNEL);
  EXPECT_EQ(as<gt_event_header>(recs[3]).kind, GT_EV_GPU_KERNEL);
  EXPECT_EQ(as<gt_event_header>(recs[4]).kind, GT_EV_GPU_MEMCPY);
  EXPECT_EQ(as<gt_event_header>(recs[5]).kind, GT_EV_GPU_MEMCPY);
  ASSERT_EQ(recs[0].size(), sizeof(gt_gpu_device_event));
  const auto d = as<gt_gpu_device_event>(recs[0]);
  EXPECT_EQ(d.hdr.size, 104u);
  EXPECT_EQ(d.hdr.pid, 4321u);  // stamped by the validator
  EXPECT_EQ(d.hdr.cpu, GT_GPU_NO_CPU);
  EXPECT_EQ(d.device_id, 3u);
  EXPECT_EQ(d.pci_domain, 1u);
  EXPECT_EQ(d.pci_bus, 0xc1u);
  EXPECT_EQ(d.pci_device, 0u);
  EXPECT_STREQ(d.name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(as<gt_gpu_kernel_event>(recs[2]).device_id, d.device_id);
}

TEST(RecordConverter, SendsTheDeviceRecordAheadOfMemsetsAndAllocationsToo) {
  for (int which = 0; which < 2; ++which) {
    Harness h;
    h.devices.learn(*make_device_record(1, 0, 0x41, 0, "gpu"));
    if (which == 0) {
      LatestMemset s{};
      s.kind = CUPTI_ACTIVITY_KIND_MEMSET;
      s.start = 1;
      s.end = 2;
      s.deviceId = 1;
      ASSERT_EQ(h.convert(s), RecordConverter::Outcome::Converted);
    } else {
      LatestMemory a{};
      a.kind = CUPTI_ACTIVITY_KIND_MEMORY2;
      a.memoryOperationType = CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_ALLOCATION;
      a.timestamp = 5;
      a.deviceId = 1;
      ASSERT_EQ(h.convert(a), RecordConverter::Outcome::Converted);
    }
    const auto recs = h.records();
    ASSERT_EQ(recs.size(), 2u) << which;
    EXPECT_EQ(as<gt_event_header>(recs[0]).kind, GT_EV_GPU_DEVICE);
    EXPECT_EQ(as<gt_gpu_device_event>(recs[0]).pci_bus, 0x41u);
  }
}

TEST(RecordConverter, SendsTheDeviceRecordAgainToANewReceiverAndAfterALostBatch) {
  Harness h;
  h.devices.learn(*make_device_record(0, 0, 0x41, 0, "gpu"));
  LatestMemcpy m{};
  m.kind = CUPTI_ACTIVITY_KIND_MEMCPY;
  m.start = 1;
  m.end = 2;
  auto count_devices = [&] {
    h.convert(m);
    size_t n = 0;
    for (const auto& r : h.records()) n += as<gt_event_header>(r).kind == GT_EV_GPU_DEVICE;
    h.transport.batches.clear();
    return n;
  };
  EXPECT_EQ(count_devices(), 1u);
  EXPECT_EQ(count_devices(), 0u);
  h.transport.new_receiver();
  EXPECT_EQ(count_devices(), 1u);
  h.devices.resend_all();
  EXPECT_EQ(count_devices(), 1u);
  EXPECT_EQ(count_devices(), 0u);
}

TEST(BatchWriter, SplitsAtTheBatchLimitWithConsecutiveSequenceNumbers) {
  Harness h;
  LatestMemcpy m{};
  m.kind = CUPTI_ACTIVITY_KIND_MEMCPY;
  m.start = 1;
  m.end = 2;
  const size_t n = 3 * GT_GPU_BATCH_MAX_BYTES / sizeof(gt_gpu_memcpy_event);
  for (size_t i = 0; i < n; ++i) h.convert(m);
  EXPECT_EQ(h.records().size(), n);
  ASSERT_GE(h.transport.batches.size(), 3u);
  for (size_t i = 0; i < h.transport.batches.size(); ++i) {
    EXPECT_LE(h.transport.batches[i].size(), size_t{GT_GPU_BATCH_MAX_BYTES});
    EXPECT_EQ(as<gt_gpu_batch>(h.transport.batches[i]).seq, i);
  }
}

TEST(BatchWriter, CountsRecordsOfRefusedBatchesAsDropped) {
  Harness h;
  h.transport.set_refuse(true);
  LatestMemcpy m{};
  m.kind = CUPTI_ACTIVITY_KIND_MEMCPY;
  m.start = 1;
  m.end = 2;
  ASSERT_EQ(h.convert(m), RecordConverter::Outcome::Converted);
  ASSERT_EQ(h.convert(m), RecordConverter::Outcome::Converted);
  EXPECT_FALSE(h.writer.flush());
  EXPECT_EQ(h.writer.records_dropped(), 2u);
  EXPECT_EQ(h.writer.batches_sent(), 0u);
}

// The refusal is reported when it happens, inside the append that overflowed the batch: the
// owner re-arms names before the next record is written (ActivityProcessor).
TEST(BatchWriter, ReportsARefusedBatchAtOnce) {
  CaptureTransport transport;
  int refusals = 0;
  BatchWriter writer(transport, 1, [&] { ++refusals; });
  transport.refuse_only(0);
  gt_gpu_memcpy_event e{};
  e.hdr.size = sizeof(e);
  const size_t per_batch = BatchWriter::kMaxRecordBytes / sizeof(e);
  for (size_t i = 0; i < per_batch; ++i) ASSERT_TRUE(writer.append(&e, sizeof(e)));
  EXPECT_EQ(refusals, 0);
  ASSERT_TRUE(writer.append(&e, sizeof(e)));  // does not fit: the first batch goes, and is refused
  EXPECT_EQ(refusals, 1);
  EXPECT_TRUE(writer.flush());
  EXPECT_EQ(refusals, 1);
  EXPECT_EQ(writer.records_dropped(), per_batch);
}

}  // namespace
}  // namespace gputrace::cupti
