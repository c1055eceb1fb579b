// `gputrace attach` on this kernel (bpf tier, root): a busy multithreaded target with the
// stand-in libcupti (a test double for the vendor library) and a stand-in libcuda. The
// library loads, announces itself and reports its status; the target's own output and exit
// code stay what they are without gputrace; detaching (by command, by the tracer's end, by
// the tracer being killed) leaves it running; a container-like target gets a copy of the
// library; each refusal comes with its reason and the target untouched; 100 attaches and
// detaches in a row change nothing.
#include "attach_test_support.h"
#include "userspace/capture/capture.h"
#include "temp_dir.h"

extern "C" {
#include "bpf/gpu.h"
}

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <map>
#include <string>
#include <thread>

namespace gputrace::cupti {
namespace {

using namespace testing;
using ::gputrace::test_support::TempDir;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// What an unattached target prints after `signals` SIGRTMIN: what every attached run must print.
std::string expected_counters(int signals) {
  return "mismatches=0 sequence_errors=0 eintr=0 failures=0 register_errors=0 rt_signals=" + std::to_string(signals);
}

struct Captured {
  std::map<uint16_t, int> kinds;  // of the target's records
  std::vector<gt_gpu_status_event> statuses;
  std::vector<std::string> names;
};

Captured read_capture(const std::string& file, pid_t pid) {
  Captured c;
  auto reader = CaptureReader::open(file);
  if (!reader) {
    ADD_FAILURE() << reader.error().describe();
    return c;
  }
  auto read = (*reader)->for_each([&](const Record& r) {
    if (r.header.pid != static_cast<uint32_t>(pid) || r.header.kind < GT_EV_GPU_KERNEL || r.header.kind >= 80) return;
    ++c.kinds[r.header.kind];
    if (r.header.kind == GT_EV_GPU_STATUS) c.statuses.push_back(r.as<gt_gpu_status_event>());
    if (r.header.kind == GT_EV_GPU_NAME) {
      const auto tail = r.tail<gt_gpu_name_event>();
      c.names.emplace_back(reinterpret_cast<const char*>(tail.data()));
    }
  });
  if (!read) ADD_FAILURE() << read.error().describe();
  return c;
}

class Attach : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the bpf tier runs as root";
  }
  TempDir dir;
};

// record --pid: the library loads into the running target, traces, announces itself, reports
// its status, and detaches when the recording ends; the target never notices.
TEST_F(Attach, RecordsABusyProcessWhichRunsOnUnchanged) {
  Target target;
  ASSERT_TRUE(target.running());
  const std::string cap = dir.file("attach.gtrace");
  auto record = gputrace_background({"record", "-o", cap, "--pid", std::to_string(target.pid()), "--duration", "3s"},
                                    dir.file("record.err"));
  ASSERT_TRUE(record.program.pid > 0);
  ASSERT_TRUE(eventually([&] { return has_library_thread(target.pid()); }, 10'000)) << record.err();
  target.send_signals(20);  // delivered while attached: none may be lost
  const auto recorded = wait_program(record.program);
  EXPECT_EQ(recorded.exit_code, 0) << record.err();
  EXPECT_TRUE(has(record.err(), "attached GPU tracing to process " + std::to_string(target.pid()))) << record.err();
  // Detached at the end: the library stays mapped, inert, its thread gone, no tracer left.
  EXPECT_TRUE(eventually([&] { return !has_library_thread(target.pid()); }, 5000));
  EXPECT_EQ(maps_with(target.pid(), "libgputrace_cupti.so").size() > 0, true);
  EXPECT_EQ(tracer_of(target.pid()), 0);

  const Captured c = read_capture(cap, target.pid());
  EXPECT_GT(c.kinds.count(GT_EV_GPU_KERNEL) ? c.kinds.at(GT_EV_GPU_KERNEL) : 0, 100);
  ASSERT_FALSE(c.names.empty());
  EXPECT_EQ(c.names.front(), "_Z14standin_kernelv");
  ASSERT_FALSE(c.statuses.empty());
  EXPECT_EQ(c.statuses.front().state, GT_GPU_STATE_ACTIVE);
  EXPECT_EQ(c.statuses.back().state, GT_GPU_STATE_DETACHED);  // the last flush reached the recording
  EXPECT_GE(c.kinds.count(GT_EV_GPU_GUARDS), 1u);
  EXPECT_GE(c.kinds.count(GT_EV_GPU_LIB_LOSSES), 1u);

  const TargetOutcome out = target.stop();
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_EQ(out.counters(), expected_counters(target.signals_sent())) << out.err.substr(0, 2000);
  EXPECT_TRUE(has(out.err, "]: cuptiUnsubscribe()"));
}

// A process in its own mount, pid and network namespaces that cannot open gputrace's file:
// the library goes in as a memfd copy, the control socket is reached in its network
// namespace, and record --pid reads the copy's probe.
TEST_F(Attach, AContainerLikeProcessGetsACopyItCanRead) {
  Target target({.container = true, .exit_code = 5});
  ASSERT_TRUE(target.running());
  const std::string cap = dir.file("container.gtrace");
  const auto recorded =
      gputrace({"record", "-o", cap, "--pid", std::to_string(target.pid()), "--duration", "3s"});
  EXPECT_EQ(recorded.exit_code, 0) << recorded.err;
  EXPECT_FALSE(maps_with(target.pid(), "/memfd:gputrace-cupti").empty());
  EXPECT_TRUE(maps_with(target.pid(), GPUTRACE_CUPTI_LIBRARY).empty());
  const Captured c = read_capture(cap, target.pid());
  EXPECT_GT(c.kinds.count(GT_EV_GPU_KERNEL) ? c.kinds.at(GT_EV_GPU_KERNEL) : 0, 100) << recorded.err;
  ASSERT_FALSE(c.statuses.empty()) << recorded.err;
  EXPECT_EQ(c.statuses.back().state, GT_GPU_STATE_DETACHED);
  const TargetOutcome out = target.stop();
  EXPECT_EQ(out.exit_code, 5);
  EXPECT_EQ(out.counters(), expected_counters(0));
}

// `gputrace detach` ends it from elsewhere: the attach command says so, the target runs on.
TEST_F(Attach, DetachLeavesTheProcessRunning) {
  Target target;
  auto attach = gputrace_background({"attach", "--pid", std::to_string(target.pid())}, dir.file("attach.err"));
  ASSERT_TRUE(attach.wait_for("gputrace: library in process", 15'000)) << attach.err();
  EXPECT_TRUE(has(attach.err(), "tracing (")) << attach.err();
  EXPECT_TRUE(has_library_thread(target.pid()));
  const auto detached = gputrace({"detach", "--pid", std::to_string(target.pid())});
  EXPECT_EQ(detached.exit_code, 0) << detached.err;
  EXPECT_TRUE(has(detached.err, "detached: the library flushed")) << detached.err;
  const auto held = wait_program(attach.program);
  EXPECT_EQ(held.exit_code, 0);
  EXPECT_TRUE(has(attach.err(), "the library detached")) << attach.err();
  EXPECT_FALSE(has_library_thread(target.pid()));
  EXPECT_TRUE(target.running());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // it goes on working
  const TargetOutcome out = target.stop();
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_EQ(out.counters(), expected_counters(0));
  const auto again = gputrace({"detach", "--pid", std::to_string(target.pid())});
  EXPECT_NE(again.exit_code, 0);  // gone now
}

// The lease is the tracer's socket: killed, however hard, the tracer lets go.
TEST_F(Attach, DetachesWhenTheTracerIsKilled) {
  Target target;
  auto attach = gputrace_background({"attach", "--pid", std::to_string(target.pid())}, dir.file("attach.err"));
  ASSERT_TRUE(attach.wait_for("gputrace: library in process", 15'000)) << attach.err();
  ASSERT_TRUE(has_library_thread(target.pid()));
  ::kill(attach.program.pid, SIGKILL);
  (void)wait_program(attach.program);
  EXPECT_TRUE(eventually([&] { return !has_library_thread(target.pid()); }, 5000));
  EXPECT_TRUE(eventually([&] { return has(target.stderr_so_far(), "]: cuptiUnsubscribe()"); }, 5000));
  const TargetOutcome out = target.stop();
  EXPECT_EQ(out.counters(), expected_counters(0));
}

// Attached already: a second attach does not stop a thread again, only asks the library to
// announce itself; one copy of the library, one attach region.
TEST_F(Attach, AttachingTwiceReannouncesWithoutTouchingTheProcess) {
  Target target;
  auto first = gputrace_background({"attach", "--pid", std::to_string(target.pid())}, dir.file("first.err"));
  ASSERT_TRUE(first.wait_for("gputrace: library in process", 15'000)) << first.err();
  const auto second = gputrace({"attach", "--pid", std::to_string(target.pid()), "--duration", "500ms"});
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_TRUE(has(second.err, "already attached; asked it to announce itself again")) << second.err;
  EXPECT_FALSE(has(second.err, "stopped for")) << second.err;
  EXPECT_TRUE(has(second.err, "2 leases held")) << second.err;
  EXPECT_TRUE(has_library_thread(target.pid()));  // the first lease still holds it
  ::kill(first.program.pid, SIGTERM);
  EXPECT_EQ(wait_program(first.program).exit_code, 0);
  int loaded = 0;  // mappings at file offset 0: one per copy of the library
  for (const auto& line : maps_with(target.pid(), "libgputrace_cupti.so")) loaded += has(line, " 00000000 ");
  EXPECT_EQ(loaded, 1);
  EXPECT_EQ(anonymous_code_mappings(target.pid()), 1);
  target.stop();
}

// A consumer that starts after the library was attached (a daemon restarted, a second
// recording) gets the kernel names and the status again, without the process being touched:
// it asks over the control socket. The first recording still runs, so the probe's semaphore
// does not change (the kernel raises it once, for the first tracer), and the late one lasts
// 1 s, less than the library's 5 s re-announce period.
TEST_F(Attach, ALateConsumerGetsNamesAndStatusAgain) {
  Target target;
  auto attach = gputrace_background({"attach", "--pid", std::to_string(target.pid())}, dir.file("attach.err"));
  ASSERT_TRUE(attach.wait_for("gputrace: library in process", 15'000)) << attach.err();
  const std::string first = dir.file("first.gtrace"), late = dir.file("late.gtrace");
  // Long enough never to end on its own: it is stopped once the late one is done.
  auto a = gputrace_background({"record", "-o", first, "--duration", "120s"}, dir.file("a.err"));
  ASSERT_TRUE(a.wait_for("recording to", 15'000)) << a.err();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // names and status went to the first
  const auto b = gputrace({"record", "-o", late, "--duration", "1s"});
  EXPECT_EQ(b.exit_code, 0) << b.err;
  EXPECT_TRUE(target.running());
  ASSERT_EQ(::kill(a.program.pid, SIGTERM), 0) << "the first recording ended before the late one";
  EXPECT_EQ(wait_program(a.program).exit_code, 0) << a.err();
  const Captured c = read_capture(late, target.pid());
  std::string kinds;
  for (const auto& [k, n] : c.kinds) kinds += std::to_string(k) + ":" + std::to_string(n) + " ";
  EXPECT_FALSE(c.names.empty()) << "the late recording got no kernel name; kinds " << kinds << b.err;
  EXPECT_FALSE(c.statuses.empty()) << "the late recording got no status";
  EXPECT_GT(c.kinds.count(GT_EV_GPU_KERNEL) ? c.kinds.at(GT_EV_GPU_KERNEL) : 0, 0);
  ::kill(attach.program.pid, SIGTERM);
  (void)wait_program(attach.program);
  EXPECT_EQ(target.stop().counters(), expected_counters(0));
}

}  // namespace
}  // namespace gputrace::cupti
