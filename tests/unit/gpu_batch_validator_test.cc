#include "userspace/gpu/batch_validator.h"

#include "userspace/decode/decoder.h"

extern "C" {
#include "bpf/host.h"
}

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace gputrace {
namespace {

template <class T>
std::vector<std::byte> bytes_of(const T& v, size_t size = sizeof(T)) {
  std::vector<std::byte> out(size);
  std::memcpy(out.data(), &v, std::min(size, sizeof(T)));
  return out;
}

std::vector<std::byte> kernel(uint64_t start, uint64_t end) {
  gt_gpu_kernel_event e{};
  e.hdr.kind = GT_EV_GPU_KERNEL;
  e.hdr.size = sizeof(e);
  e.hdr.pid = 99999;  // the sender's claim: must not survive
  e.hdr.ts_ns = start;
  e.end_ns = end;
  e.name_id = 1;
  return bytes_of(e);
}

std::vector<std::byte> name(const std::string& text) {
  gt_gpu_name_event e{};
  e.hdr.kind = GT_EV_GPU_NAME;
  e.hdr.size = static_cast<uint32_t>((sizeof(e) + text.size() + 1 + 7) & ~size_t{7});
  e.name_id = 1;
  e.name_len = static_cast<uint32_t>(text.size());
  auto out = bytes_of(e, e.hdr.size);
  std::memcpy(out.data() + sizeof(e), text.data(), text.size());
  return out;
}

std::vector<std::byte> batch(const std::vector<std::vector<std::byte>>& records) {
  gt_gpu_batch h{};
  h.magic = GT_GPU_BATCH_MAGIC;
  h.version = GT_GPU_BATCH_VERSION;
  h.header_size = sizeof(h);
  h.seq = 7;
  std::vector<std::byte> out(sizeof(h));
  for (const auto& r : records) out.insert(out.end(), r.begin(), r.end());
  h.count = static_cast<uint32_t>(records.size());
  h.bytes = static_cast<uint32_t>(out.size() - sizeof(h));
  std::memcpy(out.data(), &h, sizeof(h));
  return out;
}

gt_gpu_batch* header(std::vector<std::byte>& b) { return reinterpret_cast<gt_gpu_batch*>(b.data()); }

BatchReject rejection(const std::vector<std::byte>& b) {
  auto r = validate_batch(b, 1);
  EXPECT_FALSE(r);
  return r ? BatchReject::NotABatch : r.error();
}

TEST(GpuBatchValidator, AcceptsAWellFormedBatchAndStampsTheTrustedPid) {
  auto r = validate_batch(batch({name("vecadd"), kernel(10, 20), kernel(30, 40)}), 4242);
  ASSERT_TRUE(r) << describe(r.error());
  EXPECT_EQ(r->pid, 4242u);
  EXPECT_EQ(r->seq, 7u);
  EXPECT_EQ(r->count, 3u);
  std::vector<uint32_t> pids;
  decode_stream(r->records, [&](const Record& rec) { pids.push_back(rec.header.pid); });
  EXPECT_EQ(pids, (std::vector<uint32_t>{4242, 4242, 4242}));
}

TEST(GpuBatchValidator, RejectsHeaderLies) {
  auto good = batch({kernel(1, 2)});
  EXPECT_EQ(rejection(std::vector<std::byte>(good.begin(), good.begin() + 16)), BatchReject::TooShort);
  auto b = good;
  header(b)->magic ^= 1;
  EXPECT_EQ(rejection(b), BatchReject::BadMagic);
  b = good;
  header(b)->version = 2;
  EXPECT_EQ(rejection(b), BatchReject::BadVersion);
  b = good;
  header(b)->bytes += 8;
  EXPECT_EQ(rejection(b), BatchReject::LengthMismatch);
  b = good;
  header(b)->count = 2;
  EXPECT_EQ(rejection(b), BatchReject::CountMismatch);
  b = good;
  header(b)->count = 0;
  EXPECT_EQ(rejection(b), BatchReject::CountMismatch);
  b = good;
  header(b)->count = 0xffffffff;
  EXPECT_EQ(rejection(b), BatchReject::CountMismatch);
  std::vector<std::vector<std::byte>> many(GT_GPU_BATCH_MAX_BYTES / sizeof(gt_gpu_kernel_event) + 1, kernel(1, 2));
  EXPECT_EQ(rejection(batch(many)), BatchReject::TooLong);
}

TEST(GpuBatchValidator, RejectsBadRecords) {
  auto truncated = batch({kernel(1, 2)});
  truncated.resize(truncated.size() - 8);
  header(truncated)->bytes -= 8;
  EXPECT_EQ(rejection(truncated), BatchReject::BadRecord);

  gt_loss_event foreign{};
  foreign.hdr.kind = GT_EV_LOSS;
  foreign.hdr.size = sizeof(foreign);
  EXPECT_EQ(rejection(batch({bytes_of(foreign)})), BatchReject::NotGpuRecord);

  gt_gpu_batch_event nested{};
  nested.hdr.kind = GT_EV_GPU_BATCH;
  nested.hdr.size = sizeof(nested);
  EXPECT_EQ(rejection(batch({bytes_of(nested)})), BatchReject::NotGpuRecord);

  EXPECT_EQ(rejection(batch({kernel(20, 10)})), BatchReject::BadTimestamps);
}

TEST(GpuBatchValidator, RejectsMalformedNames) {
  auto unterminated = name("abcdefg");  // 7 chars + NUL fill the padding exactly
  unterminated[sizeof(gt_gpu_name_event) + 7] = std::byte{'h'};
  EXPECT_EQ(rejection(batch({unterminated})), BatchReject::BadName);

  auto embedded_nul = name("abc");
  embedded_nul[sizeof(gt_gpu_name_event) + 1] = std::byte{0};
  EXPECT_EQ(rejection(batch({embedded_nul})), BatchReject::BadName);

  auto garbage_padding = name("abc");
  garbage_padding.back() = std::byte{'z'};
  EXPECT_EQ(rejection(batch({garbage_padding})), BatchReject::BadName);

  auto lying_length = name("abc");
  reinterpret_cast<gt_gpu_name_event*>(lying_length.data())->name_len = 100;
  EXPECT_EQ(rejection(batch({lying_length})), BatchReject::BadName);

  auto no_id = name("abc");
  reinterpret_cast<gt_gpu_name_event*>(no_id.data())->name_id = 0;
  EXPECT_EQ(rejection(batch({no_id})), BatchReject::BadName);
}

TEST(GpuBatchValidator, RejectsStatusWithoutTerminatedHolder) {
  gt_gpu_status_event s{};
  s.hdr.kind = GT_EV_GPU_STATUS;
  s.hdr.size = sizeof(s);
  EXPECT_TRUE(validate_batch(batch({bytes_of(s)}), 1));
  std::memset(s.holder, 'x', sizeof(s.holder));
  EXPECT_EQ(rejection(batch({bytes_of(s)})), BatchReject::BadStatus);
  s.holder[0] = 0;
  s.clock_mode = 7;
  EXPECT_EQ(rejection(batch({bytes_of(s)})), BatchReject::BadStatus);
}

TEST(GpuBatchValidator, RejectsRecordsLongerThanTheirKind) {
  auto padded = kernel(1, 2);
  padded.resize(padded.size() + 8);  // the decoder would accept it as a newer, longer record
  reinterpret_cast<gt_event_header*>(padded.data())->size = static_cast<uint32_t>(padded.size());
  EXPECT_EQ(rejection(batch({padded})), BatchReject::BadRecord);
}

// An escape sequence in a kernel name would repaint the terminal of whoever runs `top`.
TEST(GpuBatchValidator, RejectsControlCharactersInText) {
  EXPECT_EQ(rejection(batch({name("vec\x1b[2Jadd")})), BatchReject::BadName);
  EXPECT_EQ(rejection(batch({name("tab\tname")})), BatchReject::BadName);
  EXPECT_TRUE(validate_batch(batch({name("void vecadd<float>(float const*, float*)")}), 1));
  EXPECT_TRUE(validate_batch(batch({name("caf\xc3\xa9")}), 1));  // UTF-8 passes
  EXPECT_TRUE(validate_batch(batch({name("\xe2\x82\xac \xf0\x9f\x9a\x80")}), 1));  // 3- and 4-byte forms
  EXPECT_EQ(rejection(batch({name("csi\xc2\x9b" "2J")})), BatchReject::BadName);    // U+009B, a C1 control
  EXPECT_EQ(rejection(batch({name("raw\x9b" "2J")})), BatchReject::BadName);         // not UTF-8
  EXPECT_EQ(rejection(batch({name("overlong\xc0\xaf")})), BatchReject::BadName);
  EXPECT_EQ(rejection(batch({name("cut\xe2\x82")})), BatchReject::BadName);
  EXPECT_EQ(rejection(batch({name("surrogate\xed\xa0\x80")})), BatchReject::BadName);

  gt_gpu_device_event d{};
  d.hdr.kind = GT_EV_GPU_DEVICE;
  d.hdr.size = sizeof(d);
  std::strcpy(d.name, "NVIDIA H100 80GB HBM3");
  EXPECT_TRUE(validate_batch(batch({bytes_of(d)}), 1));
  d.name[6] = '\r';
  EXPECT_EQ(rejection(batch({bytes_of(d)})), BatchReject::BadRecord);

  gt_gpu_status_event s{};
  s.hdr.kind = GT_EV_GPU_STATUS;
  s.hdr.size = sizeof(s);
  std::strcpy(s.holder, "nsys\x07");
  EXPECT_EQ(rejection(batch({bytes_of(s)})), BatchReject::BadStatus);
}

// Each device id is a table entry the daemon keeps for the process: ids are bounded.
TEST(GpuBatchValidator, RejectsOutOfRangeFields) {
  gt_gpu_device_event d{};
  d.hdr.kind = GT_EV_GPU_DEVICE;
  d.hdr.size = sizeof(d);
  d.device_id = kMaxCudaDevices - 1;
  EXPECT_TRUE(validate_batch(batch({bytes_of(d)}), 1));
  d.device_id = kMaxCudaDevices;
  EXPECT_EQ(rejection(batch({bytes_of(d)})), BatchReject::BadRecord);

  gt_gpu_memory_event m{};
  m.hdr.kind = GT_EV_GPU_MEMORY;
  m.hdr.size = sizeof(m);
  m.op = GT_GPU_MEMORY_RELEASE;
  EXPECT_TRUE(validate_batch(batch({bytes_of(m)}), 1));
  m.op = 9;
  EXPECT_EQ(rejection(batch({bytes_of(m)})), BatchReject::BadRecord);
}

TEST(GpuBatchValidator, ChecksTheLibrarysLossRecord) {
  gt_gpu_lib_losses_event l{};
  l.hdr.kind = GT_EV_GPU_LIB_LOSSES;
  l.hdr.size = sizeof(l);
  l.untimed = 3;
  l.flags = GT_GPU_LAYOUT_UNVERIFIED;
  EXPECT_TRUE(validate_batch(batch({bytes_of(l)}), 1));
  l.flags = 2;  // no such flag
  EXPECT_EQ(rejection(batch({bytes_of(l)})), BatchReject::BadStatus);
}

// The guards' counters are counts: any value; the overhead and graph records are activity.
TEST(GpuBatchValidator, ChecksTheGuardOverheadAndGraphRecords) {
  gt_gpu_guards_event g{};
  g.hdr.kind = GT_EV_GPU_GUARDS;
  g.hdr.size = sizeof(g);
  g.process_rate_limited = 1u << 30;
  EXPECT_TRUE(validate_batch(batch({bytes_of(g)}), 1));

  gt_gpu_overhead_event o{};
  o.hdr.kind = GT_EV_GPU_OVERHEAD;
  o.hdr.size = sizeof(o);
  o.hdr.ts_ns = 1000;
  o.end_ns = 3000;
  o.object_kind = 2;  // a thread
  EXPECT_TRUE(validate_batch(batch({bytes_of(o)}), 1));
  o.object_kind = 3;  // a device: its id is bounded
  o.device_id = kMaxCudaDevices;
  EXPECT_EQ(rejection(batch({bytes_of(o)})), BatchReject::BadRecord);
  o.device_id = 0;
  o.end_ns = 999;  // ends before it starts
  EXPECT_EQ(rejection(batch({bytes_of(o)})), BatchReject::BadRecord);

  gt_gpu_graph_event gr{};
  gr.hdr.kind = GT_EV_GPU_GRAPH;
  gr.hdr.size = sizeof(gr);
  gr.hdr.ts_ns = 1000;
  gr.end_ns = 5000;
  gr.device_id = 0xffffffffu;  // started on the host
  EXPECT_TRUE(validate_batch(batch({bytes_of(gr)}), 1));
  gr.device_id = kMaxCudaDevices;
  EXPECT_EQ(rejection(batch({bytes_of(gr)})), BatchReject::BadRecord);
}

TEST(GpuBatchValidator, AcceptsTheDetachedStateAndNothingPastIt) {
  gt_gpu_status_event s{};
  s.hdr.kind = GT_EV_GPU_STATUS;
  s.hdr.size = sizeof(s);
  s.state = GT_GPU_STATE_DETACHED;
  EXPECT_TRUE(validate_batch(batch({bytes_of(s)}), 1));
  s.state = GT_GPU_STATE_DETACHED + 1;
  EXPECT_EQ(rejection(batch({bytes_of(s)})), BatchReject::BadStatus);
}

TEST(GpuBatchValidator, TakesThePidOfARingRecordFromItsKernelHeader) {
  auto inner = batch({kernel(1, 2)});
  gt_event_header h{};
  h.kind = GT_EV_GPU_BATCH;
  h.size = static_cast<uint32_t>(sizeof(h) + inner.size());
  h.pid = 555;
  auto ring = bytes_of(h);
  ring.insert(ring.end(), inner.begin(), inner.end());
  Record rec;
  ASSERT_EQ(decode_one(ring, rec), DecodeError::None);
  auto r = validate_batch_record(rec);
  ASSERT_TRUE(r) << describe(r.error());
  EXPECT_EQ(r->pid, 555u);

  ASSERT_EQ(decode_one(kernel(1, 2), rec), DecodeError::None);
  EXPECT_EQ(validate_batch_record(rec).error(), BatchReject::NotABatch);
}

}  // namespace
}  // namespace gputrace

namespace gputrace {
namespace {

// Kernels, copies and memsets name their device too: past kMaxCudaDevices they are refused,
// as the device records are (they once went through and took timeline tracks).
TEST(GpuBatchValidator, RejectsActivityOnADeviceIdPastTheLimit) {
  gt_gpu_kernel_event k{};
  k.hdr.kind = GT_EV_GPU_KERNEL;
  k.hdr.size = sizeof(k);
  k.device_id = kMaxCudaDevices - 1;
  EXPECT_TRUE(validate_batch(batch({bytes_of(k)}), 1));
  k.device_id = kMaxCudaDevices;
  EXPECT_EQ(rejection(batch({bytes_of(k)})), BatchReject::BadRecord);
  gt_gpu_memcpy_event c{};
  c.hdr.kind = GT_EV_GPU_MEMCPY;
  c.hdr.size = sizeof(c);
  c.device_id = 1000;
  EXPECT_EQ(rejection(batch({bytes_of(c)})), BatchReject::BadRecord);
  gt_gpu_memset_event s{};
  s.hdr.kind = GT_EV_GPU_MEMSET;
  s.hdr.size = sizeof(s);
  s.device_id = kMaxCudaDevices;
  EXPECT_EQ(rejection(batch({bytes_of(s)})), BatchReject::BadRecord);
}

}  // namespace
}  // namespace gputrace
