// The gpu tier's checker, without a GPU: gpu_vecadd's output as the program prints it, and the
// records a correct trace of it holds, written to a capture file with the project's writer and
// read back the way the gpu tier reads `gputrace record`'s capture. Each damaged trace must be
// named for what is wrong with it; otherwise a broken checker would pass every GPU run.
#include "vecadd_check.h"

#include "userspace/capture/capture.h"
#include "record_builder.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <functional>
#include <string>

namespace gputrace::gpu_tier {
namespace {

using test::kMs;
using test::TraceBuilder;

constexpr uint32_t kPid = 4321;
constexpr uint64_t kBegin = 1000 * kMs, kEnd = 1100 * kMs;
constexpr uint64_t kBytes = 4u << 20;

// What gpu_vecadd prints (tests/gpu/gpu_vecadd.cu), in its order.
const std::string kOutput =
    "PID=4321\nCUDA_DEVICE=0\nPCI_BUS_ID=0000:41:00.0\nMONO_BEGIN=1000000000\nMONO_END=1100000000\n"
    "KERNELS=10\nKERNEL_NAME=vecadd\nKERNEL_GRID=4096\nKERNEL_BLOCK=256\n"
    "HTOD_COPIES=2\nDTOH_COPIES=1\nCOPY_BYTES=4194304\nMEMSETS=1\nMEMSET_BYTES=4194304\nRESULT=ok\n";

// Knobs for one thing each that a trace can get wrong.
struct Trace {
  int kernels = 10;
  uint64_t last_kernel_end = 0;  // 0: inside the window
  bool readback_as_htod = false;  // the read-back copy recorded the wrong way round
  uint64_t memset_bytes = kBytes;
  uint32_t clock_mode = GT_GPU_CLOCK_MONOTONIC;
  bool device_first = true;
  uint32_t pci_bus = 0x41;
};

void status(TraceBuilder& t, uint32_t state, uint32_t clock_mode, uint64_t ts) {
  gt_gpu_status_event s{};
  s.state = state;
  s.clock_mode = clock_mode;
  t.add(s, GT_EV_GPU_STATUS, ts, kPid);
}

void device(TraceBuilder& t, uint32_t bus) {
  gt_gpu_device_event d{};
  d.pci_bus = bus;
  std::snprintf(d.name, sizeof(d.name), "NVIDIA H100 80GB HBM3");
  t.add(d, GT_EV_GPU_DEVICE, kBegin - 5 * kMs, kPid);
}

void copy(TraceBuilder& t, uint64_t ts, uint8_t kind, uint8_t src, uint8_t dst) {
  gt_gpu_memcpy_event c{};
  c.end_ns = ts + kMs;
  c.bytes = kBytes;
  c.copy_kind = kind;
  c.src_kind = src;
  c.dst_kind = dst;
  t.add(c, GT_EV_GPU_MEMCPY, ts, kPid);
}

TraceBuilder vecadd_trace(const Trace& o) {
  TraceBuilder t;
  status(t, GT_GPU_STATE_ACTIVE, o.clock_mode, kBegin - 10 * kMs);
  if (o.device_first) device(t, o.pci_bus);
  copy(t, kBegin + 2 * kMs, GT_GPU_COPY_HTOD, 1, 3);
  copy(t, kBegin + 4 * kMs, GT_GPU_COPY_HTOD, 1, 3);
  if (!o.device_first) device(t, o.pci_bus);
  gt_gpu_memset_event m{};
  m.end_ns = kBegin + 7 * kMs;
  m.bytes = o.memset_bytes;
  t.add(m, GT_EV_GPU_MEMSET, kBegin + 6 * kMs, kPid);
  const std::string name = "vecadd(float const*, float const*, float*, int)";
  gt_gpu_name_event n{};
  n.name_id = 7;
  n.name_len = static_cast<uint32_t>(name.size());
  std::vector<std::byte> tail;
  for (char c : name) tail.push_back(static_cast<std::byte>(c));
  tail.push_back(std::byte{0});
  t.add(n, GT_EV_GPU_NAME, kBegin + 8 * kMs, kPid, tail);
  for (int i = 0; i < o.kernels; ++i) {
    gt_gpu_kernel_event k{};
    const uint64_t start = kBegin + (10 + i) * kMs;
    k.end_ns = (i == o.kernels - 1 && o.last_kernel_end) ? o.last_kernel_end : start + kMs / 2;
    k.name_id = 7;
    k.grid[0] = 4096, k.grid[1] = k.grid[2] = 1;
    k.block[0] = 256, k.block[1] = k.block[2] = 1;
    t.add(k, GT_EV_GPU_KERNEL, start, kPid);
  }
  if (o.readback_as_htod)
    copy(t, kBegin + 30 * kMs, GT_GPU_COPY_HTOD, 1, 3);
  else
    copy(t, kBegin + 30 * kMs, GT_GPU_COPY_DTOH, 3, 1);
  // Another CUDA process on the host: counted, never mistaken for the program's.
  gt_gpu_kernel_event other{};
  other.end_ns = kEnd + 500 * kMs;
  t.add(other, GT_EV_GPU_KERNEL, kEnd + 400 * kMs, kPid + 1);
  status(t, GT_GPU_STATE_EXITING, o.clock_mode, kEnd + 20 * kMs);
  return t;
}

// Writes the trace as a capture and reads it back through read_capture().
GpuActivity through_capture(const TraceBuilder& t) {
  char path[] = "/tmp/gputrace-vecadd-check-XXXXXX";
  const int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  ::close(fd);
  ::unlink(path);  // CaptureWriter creates the file itself (O_EXCL)
  GpuActivity activity(kPid);
  {
    auto writer = CaptureWriter::create(path, CaptureHostInfo{.hostname = "synthetic gpu tier records"});
    EXPECT_TRUE(writer) << writer.error().describe();
    if (!writer) return activity;
    for (const Record& r : t.records()) EXPECT_TRUE((*writer)->append(r));
    EXPECT_TRUE((*writer)->close());
  }
  auto read = read_capture(path, activity);
  EXPECT_TRUE(read) << read.error().describe();
  ::unlink(path);
  return activity;
}

std::string joined(const std::vector<std::string>& problems) {
  std::string s;
  for (const auto& p : problems) s += p + "\n";
  return s;
}

TEST(VecaddCheck, ParsesWhatTheProgramPrints) {
  auto r = parse_vecadd_output(kOutput);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->pid, kPid);
  EXPECT_EQ(r->mono_begin, kBegin);
  EXPECT_EQ(r->mono_end, kEnd);
  EXPECT_EQ(r->kernels, 10u);
  EXPECT_EQ(r->kernel_name, "vecadd");
  EXPECT_EQ(r->htod_copies, 2u);
  EXPECT_EQ(r->dtoh_copies, 1u);
  EXPECT_EQ(r->copy_bytes, kBytes);
  EXPECT_EQ(r->pci_bus_id, "0000:41:00.0");
}

TEST(VecaddCheck, RefusesOutputWithAKeyMissing) {
  std::string cut = kOutput;
  cut.erase(cut.find("MONO_END="), cut.find('\n', cut.find("MONO_END=")) - cut.find("MONO_END=") + 1);
  auto r = parse_vecadd_output(cut);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().describe().find("MONO_END"), std::string::npos) << r.error().describe();
  EXPECT_FALSE(parse_vecadd_output("KERNELS=ten\n"));
}

TEST(VecaddCheck, ACorrectTraceHasNoProblems) {
  const auto want = parse_vecadd_output(kOutput);
  ASSERT_TRUE(want);
  const GpuActivity a = through_capture(vecadd_trace({}));
  EXPECT_EQ(a.kernels.size(), 10u);
  EXPECT_EQ(a.other_pid_records, 1u);
  EXPECT_EQ(check_vecadd(a, *want), std::vector<std::string>{});
}

// Each damage, and the words its problem must contain.
TEST(VecaddCheck, NamesWhatIsWrong) {
  const auto want = parse_vecadd_output(kOutput);
  ASSERT_TRUE(want);
  const struct {
    const char* what;
    std::function<void(Trace&)> damage;
    const char* expect;
  } cases[] = {
      {"a kernel missing", [](Trace& o) { o.kernels = 9; }, "9 kernel records, the program launched 10"},
      {"a kernel ending after MONO_END", [](Trace& o) { o.last_kernel_end = kEnd + 1; }, "outside the window"},
      {"the read-back copy flipped", [](Trace& o) { o.readback_as_htod = true; }, "3 HtoD and 0 DtoH"},
      {"memset bytes off", [](Trace& o) { o.memset_bytes = kBytes / 2; }, "set 2097152 bytes"},
      {"calibrated clock", [](Trace& o) { o.clock_mode = GT_GPU_CLOCK_CALIBRATED; }, "clock mode 1"},
      {"device record late", [](Trace& o) { o.device_first = false; }, "after the first activity"},
      {"another PCI bus", [](Trace& o) { o.pci_bus = 0x42; }, "the runtime says 0000:41:00.0"},
  };
  for (const auto& c : cases) {
    Trace o;
    c.damage(o);
    const auto problems = check_vecadd(through_capture(vecadd_trace(o)), *want);
    EXPECT_NE(joined(problems).find(c.expect), std::string::npos) << c.what << ":\n" << joined(problems);
  }
}

TEST(VecaddCheck, AnotherProcessIsNotTheProgram) {
  const auto want = parse_vecadd_output(kOutput);
  ASSERT_TRUE(want);
  const TraceBuilder trace = vecadd_trace({});
  GpuActivity wrong_pid(kPid + 2);
  for (const Record& r : trace.records()) wrong_pid.on(r);
  EXPECT_EQ(wrong_pid.records, 0u);
  EXPECT_NE(joined(check_vecadd(wrong_pid, *want)).find("0 kernel records"), std::string::npos);
}

}  // namespace
}  // namespace gputrace::gpu_tier
