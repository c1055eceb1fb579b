// The gpu tier: gpu_vecadd under the real injection library on a real GPU.
//
//   RecordCapturesVecadd        `gputrace record -o F -- gpu_vecadd`, F read back with the
//                               capture reader: kernel count, memcpy/memset bytes and
//                               directions, every timestamp inside the program's own
//                               CLOCK_MONOTONIC window (vecadd_check.h). The end-to-end check.
//   VecaddThroughTheSocket      the same activity straight from the library's socket transport,
//   VecaddThroughTheUsdtProbe   and from its USDT probe: they tell a transport failure apart
//                               from one in the recorder.
//   LaunchOverhead              `gpu_vecadd --loop N`, interleaved with and without the library:
//                               the ratio of the medians is reported, not asserted (a timed
//                               assertion is a flaky test); only an absurd ratio fails.
//
// Skips where no NVIDIA GPU is present (no /dev/nvidiactl), and each test where the host lacks
// what it needs (root, uprobes), saying so. The programs are found through GPUTRACE_BIN,
// GPUTRACE_CUPTI_LIB and GPU_VECADD when set (a copied tree: tests/gpu/run-gpu-tier.sh), else
// where this build put them.
#include "userspace/decode/decoder.h"
#include "userspace/gpu/gpu_ingest.h"
#include "userspace/gpu/gpu_probe.h"
#include "userspace/gpu/seqpacket_listener.h"
#include "userspace/loader/shared_maps.h"
#include "subprocess.h"
#include "userspace/util/clock.h"
#include "vecadd_check.h"

#include <fmt/format.h>

#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace gputrace::gpu_tier {
namespace {

using cupti::testing::ProgramResult;
using cupti::testing::start_program;
using cupti::testing::wait_program;

std::string path_from(const char* env, const char* built) {
  const char* v = std::getenv(env);
  return v && *v ? v : built;
}
std::string gputrace_bin() { return path_from("GPUTRACE_BIN", GPUTRACE_BINARY); }
std::string cupti_lib() { return path_from("GPUTRACE_CUPTI_LIB", GPUTRACE_CUPTI_LIBRARY); }
std::string vecadd_bin() { return path_from("GPU_VECADD", GPUTRACE_GPU_VECADD); }

bool exists(const char* path) {
  struct stat st {};
  return ::stat(path, &st) == 0;
}

std::string joined(const std::vector<std::string>& problems) {
  std::string s;
  for (const auto& p : problems) s += "  " + p + "\n";
  return s;
}

// Records as they arrived, copied (a Record only views its datagram or ring slot), to be
// read once the program has printed its pid.
struct RecordLog {
  std::mutex mu;  // appended on a receiver thread
  std::vector<std::vector<std::byte>> records;

  GpuIngest::RecordSink sink() {
    return [this](const Record& r) {
      std::lock_guard lock(mu);
      records.emplace_back(r.bytes.begin(), r.bytes.end());
    };
  }
  void replay(GpuActivity& activity) {
    std::lock_guard lock(mu);
    for (const auto& bytes : records) {
      Record r;
      if (decode_one(bytes, r) == DecodeError::None) activity.on(r);
    }
  }
};

// A test's receiving end of the library's socket transport: a listener polled on its own
// thread while programs run (an exit flush must not find the socket full), each datagram
// validated by the daemon's own GpuIngest.
class SocketReceiver {
 public:
  explicit SocketReceiver(GpuIngest::RecordSink sink) : sink_(std::move(sink)) {
    if (!::mkdtemp(dir_)) {
      error_ = "mkdtemp failed";
      return;
    }
    path_ = std::string(dir_) + "/cupti.sock";
    auto l = SeqpacketListener::bind(path_, {});
    if (!l) {
      error_ = l.error().describe();
      return;
    }
    listener_.emplace(std::move(*l));
    poller_ = std::thread([this] {
      while (!done_) poll(20);
    });
  }
  ~SocketReceiver() { stop(); }

  bool ok() const { return listener_.has_value(); }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }

  // Gives the last datagrams of an exited program time to be read, then stops polling and
  // reads what is left.
  void stop() {
    if (poller_.joinable()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      done_ = true;
      poller_.join();
      poll(0);
    }
    if (listener_) {
      listener_.reset();
      ::rmdir(dir_);
    }
  }

  GpuIngestStats stats() {
    std::lock_guard lock(mu_);
    return ingest_.stats();
  }

 private:
  void poll(int timeout_ms) {
    (void)listener_->poll_once(timeout_ms, [this](std::span<const std::byte> d, pid_t pid, uid_t) {
      std::lock_guard lock(mu_);
      // The real clock: GpuIngest drops records stamped far past "now" as misdated.
      ingest_.ingest_datagram(d, static_cast<uint32_t>(pid), monotonic_ns(), sink_);
    });
  }

  char dir_[32] = "/tmp/gputrace-gpu-XXXXXX";
  std::string path_, error_;
  std::optional<SeqpacketListener> listener_;
  std::mutex mu_;
  GpuIngest ingest_;
  GpuIngest::RecordSink sink_;
  std::atomic<bool> done_{false};
  std::thread poller_;
};

class GpuTier : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!exists("/dev/nvidiactl")) GTEST_SKIP() << "no NVIDIA GPU on this host (/dev/nvidiactl missing)";
  }
};

// The must-show: the recorder, not a test harness, receives the program's activity.
TEST_F(GpuTier, RecordCapturesVecadd) {
  if (::geteuid() != 0) GTEST_SKIP() << "gputrace record loads BPF programs: needs root";
  char dir[] = "/tmp/gputrace-record-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string capture = std::string(dir) + "/vecadd.gtrace";
  // gputrace hands the library to CMD as CUDA_INJECTION64_PATH; it finds it through
  // GPUTRACE_CUPTI_LIB first, so a copied tree works.
  const ProgramResult result = wait_program(start_program({gputrace_bin(), "record", "-o", capture, "--", vecadd_bin()},
                                                          {"GPUTRACE_CUPTI_LIB=" + cupti_lib()}));
  ASSERT_EQ(result.exit_code, 0) << "gputrace record:\n" << result.out << result.err;
  // gputrace's status is its own, not the program's: the program says how it went.
  ASSERT_EQ(value_of(result.out, "RESULT"), "ok") << result.out << result.err;
  auto report = parse_vecadd_output(result.out);
  ASSERT_TRUE(report) << report.error().describe() << "\n" << result.out << result.err;
  GpuActivity activity(report->pid);
  auto read = read_capture(capture, activity);
  ::unlink(capture.c_str());
  ::rmdir(dir);
  ASSERT_TRUE(read) << read.error().describe();
  const auto problems = check_vecadd(activity, *report);
  EXPECT_TRUE(problems.empty()) << "the capture does not match what gpu_vecadd did:\n"
                                << joined(problems) << "gputrace said:\n"
                                << result.err;
  RecordProperty("gpu_records_of_other_processes", static_cast<int>(activity.other_pid_records));
}

// Checks one run of gpu_vecadd against the records a test harness received of it.
void check_received(const ProgramResult& result, RecordLog& log) {
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  auto report = parse_vecadd_output(result.out);
  ASSERT_TRUE(report) << report.error().describe() << "\n" << result.out;
  GpuActivity activity(report->pid);
  log.replay(activity);
  const auto problems = check_vecadd(activity, *report);
  EXPECT_TRUE(problems.empty()) << "received activity does not match what gpu_vecadd did:\n" << joined(problems);
}

TEST_F(GpuTier, VecaddThroughTheSocket) {
  RecordLog log;
  SocketReceiver receiver(log.sink());
  ASSERT_TRUE(receiver.ok()) << receiver.error();
  const auto result = wait_program(start_program(
      {vecadd_bin()}, {"CUDA_INJECTION64_PATH=" + cupti_lib(), "GPUTRACE_CUPTI_SOCKET=" + receiver.path()}));
  receiver.stop();
  const GpuIngestStats stats = receiver.stats();
  EXPECT_EQ(stats.rejected_total(), 0u);
  EXPECT_EQ(stats.batches_lost, 0u);
  EXPECT_EQ(stats.records_misdated, 0u);
  check_received(result, log);
}

TEST_F(GpuTier, VecaddThroughTheUsdtProbe) {
  if (::geteuid() != 0) GTEST_SKIP() << "attaching the USDT probe needs root";
  if (!exists("/sys/bus/event_source/devices/uprobe"))
    GTEST_SKIP() << "this kernel has no uprobe PMU (/sys/bus/event_source/devices/uprobe): USDT probes cannot attach";
  auto maps = SharedMaps::create({});
  ASSERT_TRUE(maps) << maps.error().describe();
  auto probe = GpuProbe::attach(*maps, cupti_lib());
  ASSERT_TRUE(probe) << probe.error().describe();
  struct Ctx {
    GpuIngest ingest;
    RecordLog log;
  } ctx;
  auto* ring = ring_buffer__new(
      probe->ring_fd(),
      [](void* c, void* data, size_t size) {
        auto* x = static_cast<Ctx*>(c);
        Record rec;
        if (decode_one({static_cast<const std::byte*>(data), size}, rec) == DecodeError::None)
          x->ingest.ingest_ring_record(rec, monotonic_ns(), x->log.sink());
        return 0;
      },
      &ctx, nullptr);
  ASSERT_NE(ring, nullptr);
  // No socket: with the probe attached the library uses it, and an empty path makes sure
  // nothing else could have delivered the records.
  const auto result = wait_program(
      start_program({vecadd_bin()}, {"CUDA_INJECTION64_PATH=" + cupti_lib(), "GPUTRACE_CUPTI_SOCKET="}));
  // The 8 MiB GPU ring holds this program's few batches: draining after it exits loses nothing.
  ASSERT_GE(ring_buffer__consume(ring), 0);
  ring_buffer__free(ring);
  EXPECT_EQ(ctx.ingest.stats().rejected_total(), 0u);
  EXPECT_EQ(ctx.ingest.stats().records_misdated, 0u);
  check_received(result, ctx.log);
}

// Launch overhead of the injection library: `gpu_vecadd --loop N` run kRuns times with and
// kRuns times without it, interleaved (and the order swapped every round) so that drift of
// the GPU's clocks or the host's load lands on both sides. With the library, batches go to a
// live receiver, so the cost includes handing them over. The budget is 2 % (docs/cupti.md);
// that is reported, not asserted: only a ratio no tuning explains fails the test.
TEST_F(GpuTier, LaunchOverhead) {
  constexpr int kRuns = 5;
  constexpr long kLaunches = 100'000;
  constexpr double kAbsurd = 2.0;
  ASSERT_EQ(std::getenv("CUDA_INJECTION64_PATH"), nullptr) << "the runs without the library would have it";
  struct Received {
    std::mutex mu;
    std::map<uint32_t, uint64_t> kernels;
    std::map<uint32_t, gt_gpu_status_event> last_status;
  } got;
  SocketReceiver receiver([&got](const Record& r) {
    std::lock_guard lock(got.mu);
    if (r.header.kind == GT_EV_GPU_KERNEL) ++got.kernels[r.header.pid];
    if (r.header.kind == GT_EV_GPU_STATUS) got.last_status[r.header.pid] = r.as<gt_gpu_status_event>();
  });
  ASSERT_TRUE(receiver.ok()) << receiver.error();

  std::vector<double> with, without;
  std::vector<uint32_t> traced_pids;
  auto run = [&](bool injected) {
    std::vector<std::string> env;
    if (injected) env = {"CUDA_INJECTION64_PATH=" + cupti_lib(), "GPUTRACE_CUPTI_SOCKET=" + receiver.path()};
    const auto r = wait_program(start_program({vecadd_bin(), "--loop", std::to_string(kLaunches)}, env));
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::string ns = value_of(r.out, "LOOP_NS");
    ASSERT_FALSE(ns.empty()) << r.out;
    (injected ? with : without).push_back(std::stod(ns));
    if (injected) traced_pids.push_back(static_cast<uint32_t>(std::stoul(value_of(r.out, "PID"))));
  };
  for (int i = 0; i < kRuns; ++i) {
    const bool injected_first = i % 2 == 1;
    run(injected_first);
    if (HasFatalFailure()) return;
    run(!injected_first);
    if (HasFatalFailure()) return;
  }
  receiver.stop();

  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double m_with = median(with), m_without = median(without);
  const double ratio = m_with / m_without;
  // Without this, a library that never loaded would measure as free.
  uint64_t delivered = 0, dropped = 0;
  {
    std::lock_guard lock(got.mu);
    for (uint32_t pid : traced_pids) {
      EXPECT_GT(got.kernels[pid], 0u) << "no kernel records from injected run pid " << pid;
      delivered += got.kernels[pid];
      if (got.last_status.count(pid))
        dropped += got.last_status[pid].dropped_cupti + got.last_status[pid].dropped_local;
    }
  }
  const std::string line =
      fmt::format("GPU_TIER_OVERHEAD launches={} runs={}+{} median_ns_without={:.0f} median_ns_with={:.0f} "
                  "ratio={:.4f} (budget 1.02) per_launch_ns_without={:.1f} per_launch_ns_with={:.1f} "
                  "kernel_records_delivered={} dropped={}",
                  kLaunches, kRuns, kRuns, m_without, m_with, ratio, m_without / kLaunches, m_with / kLaunches,
                  delivered, dropped);
  std::printf("%s\n", line.c_str());
  RecordProperty("launch_overhead_ratio", fmt::format("{:.4f}", ratio));
  RecordProperty("median_ns_with", fmt::format("{:.0f}", m_with));
  RecordProperty("median_ns_without", fmt::format("{:.0f}", m_without));
  RecordProperty("kernel_records_delivered", std::to_string(delivered));
  RecordProperty("kernel_records_dropped", std::to_string(dropped));
  EXPECT_LT(ratio, kAbsurd) << line;
}

}  // namespace
}  // namespace gputrace::gpu_tier
