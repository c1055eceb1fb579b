// `gputrace attach` refusing (bpf tier, root): each time with its reason, and the target
// untouched: never stopped (no tracer), nothing loaded where nothing may be, its output and
// exit code what they would have been. Then 100 attaches and detaches in a row.
#include "attach_test_support.h"
#include "temp_dir.h"

#include <cupti.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

namespace gputrace::cupti {
namespace {

using namespace testing;
using ::gputrace::test_support::TempDir;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string expected_counters(int signals) {
  return "mismatches=0 sequence_errors=0 eintr=0 failures=0 register_errors=0 rt_signals=" + std::to_string(signals);
}

class AttachRefusal : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the bpf tier runs as root";
  }
  // Attaches, expects a refusal naming `reason`, and checks the target was left alone.
  void expect_refused(Target& target, const std::string& reason, const std::vector<std::string>& runner = {}) {
    std::vector<std::string> argv = runner;
    argv.push_back(GPUTRACE_BIN);
    for (const char* a : {"attach", "--pid"}) argv.push_back(a);
    argv.push_back(std::to_string(target.pid()));
    const ProgramResult r = run_program(argv, {});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_TRUE(has(r.err, "not attached: ")) << r.err;
    EXPECT_TRUE(has(r.err, reason)) << r.err;
    EXPECT_TRUE(target.running());
    EXPECT_EQ(tracer_of(target.pid()), 0);
    EXPECT_FALSE(has_library_thread(target.pid()));
  }
};

TEST_F(AttachRefusal, AProcessWithoutTheCudaDriver) {
  Target target({.driver = false});
  expect_refused(target, "has no CUDA driver loaded (libcuda.so is not mapped)");
  EXPECT_TRUE(maps_with(target.pid(), "gputrace_cupti").empty());
  EXPECT_EQ(anonymous_code_mappings(target.pid()), 0);
  EXPECT_EQ(target.stop().counters(), expected_counters(0));
}

// CUPTI can only be asked from inside: the library loads, finds the slot taken, names the
// holder and stays idle (mapped, no thread, nothing registered or enabled).
TEST_F(AttachRefusal, CuptiHeldByAnotherToolIsNamed) {
  Target target({.env = {"GPUTRACE_STANDIN_SUBSCRIBE=" + std::to_string(CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED),
                         "GPUTRACE_STANDIN_HOLDER=Nsight Systems"}});
  expect_refused(target, "CUPTI in process " + std::to_string(target.pid()) + " is already in use by Nsight Systems");
  const TargetOutcome out = target.stop();
  EXPECT_TRUE(has(out.err, "]: cuptiSubscribe_v2(gputrace) = 39")) << out.err.substr(0, 2000);
  EXPECT_FALSE(has(out.err, "]: cuptiActivityRegisterCallbacks")) << out.err.substr(0, 2000);
  EXPECT_FALSE(has(out.err, "]: cuptiActivityEnable")) << out.err.substr(0, 2000);
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_EQ(out.counters(), expected_counters(0));
}

// The kernel's own refusals (no Yama on this host: that one is the vm tier's). Without
// CAP_SYS_PTRACE: a root process (its capabilities are not a subset of ours), another
// user's process, and one of our own user that is not dumpable.
TEST_F(AttachRefusal, TheKernelRefusesWithoutCapSysPtrace) {
  const std::vector<std::string> no_cap = {"/usr/bin/setpriv", "--bounding-set=-sys_ptrace", "--inh-caps=-sys_ptrace",
                                           "--"};
  const std::vector<std::string> nobody = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                           "--"};
  Target root;
  expect_refused(root, "gputrace lacks CAP_SYS_PTRACE", no_cap);
  EXPECT_EQ(root.stop().counters(), expected_counters(0));
  Target other;
  expect_refused(other, "runs as uid 0 and gputrace as uid 65534 without CAP_SYS_PTRACE", nobody);
  EXPECT_EQ(other.stop().counters(), expected_counters(0));
  Target nondumpable({.flags = {"--nondumpable"}, .runner = nobody});
  expect_refused(nondumpable, "it is not dumpable", nobody);
  EXPECT_EQ(nondumpable.stop().counters(), expected_counters(0));
}

// Stopped and read (PTRACE_SECCOMP_GET_FILTER), its filter would kill it for memfd_create:
// gputrace lets the thread go as it was and refuses.
TEST_F(AttachRefusal, ASeccompFilterThatWouldKillTheProcess) {
  Target target({.flags = {"--seccomp-kill-memfd"}});
  expect_refused(target, "runs under seccomp and its seccomp filter answers memfd_create with KILL_PROCESS");
  EXPECT_TRUE(maps_with(target.pid(), "gputrace_cupti").empty());
  const TargetOutcome out = target.stop();
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_EQ(out.counters(), expected_counters(0));
}

// Every thread busy, or blocked where a stop would show (epoll_wait's EINTR) or cost it its
// timeout: nothing is stopped, and the message says what the threads were doing.
TEST_F(AttachRefusal, NoThreadIdleEnoughToStop) {
  Target target({.idle = "none"});
  expect_refused(target, "could be stopped safely");
  const TargetOutcome out = target.stop();
  EXPECT_EQ(out.counters(), expected_counters(0));  // eintr=0: epoll_wait was never interrupted
}

TEST_F(AttachRefusal, NoSuchProcess) {
  const ProgramResult r = gputrace({"attach", "--pid", "12ab"});
  EXPECT_EQ(r.exit_code, 2) << r.err;  // not even a pid
  EXPECT_TRUE(has(r.err, "--pid '12ab' is not a process id")) << r.err;
  const ProgramResult gone = gputrace({"attach", "--pid", "999999999"});
  EXPECT_EQ(gone.exit_code, 1) << gone.err;
  EXPECT_TRUE(has(gone.err, "there is no process 999999999")) << gone.err;
}

// 100 attaches and detaches in a row on a busy target, signals arriving throughout: nothing
// lost, nothing interrupted, every register back, one copy of the library, one region.
TEST_F(AttachRefusal, HundredAttachesAndDetachesChangeNothing) {
  Target target;
  std::atomic<bool> done{false};
  std::thread signaller([&] {
    while (!done) target.send_signals(1), std::this_thread::sleep_for(std::chrono::milliseconds(3));
  });
  int attached = 0, detached_by_command = 0;
  for (int i = 0; i < 100; ++i) {
    // Every other round another gputrace detaches it; the rest end with the attach itself.
    if (i % 2 == 0) {
      const ProgramResult a = gputrace({"attach", "--pid", std::to_string(target.pid()), "--duration", "20ms"});
      attached += a.exit_code == 0 && has(a.err, "stopped for");
      EXPECT_EQ(a.exit_code, 0) << "round " << i << ": " << a.err;
    } else {
      TempDir dir;
      auto a = gputrace_background({"attach", "--pid", std::to_string(target.pid())}, dir.file("err"));
      if (!a.wait_for("gputrace: library in process", 15'000)) ADD_FAILURE() << "round " << i << ": " << a.err();
      attached += has(a.err(), "stopped for");
      const ProgramResult d = gputrace({"detach", "--pid", std::to_string(target.pid())});
      detached_by_command += d.exit_code == 0;
      EXPECT_EQ(wait_program(a.program).exit_code, 0) << a.err();
    }
    ASSERT_TRUE(target.running()) << "round " << i;
    if (HasFailure()) break;
  }
  done = true;
  signaller.join();
  EXPECT_EQ(attached, 100);
  EXPECT_EQ(detached_by_command, 50);
  EXPECT_TRUE(eventually([&] { return !has_library_thread(target.pid()); }, 5000));
  int loaded = 0;
  for (const auto& line : maps_with(target.pid(), "libgputrace_cupti.so")) loaded += has(line, " 00000000 ");
  EXPECT_EQ(loaded, 1);
  EXPECT_EQ(anonymous_code_mappings(target.pid()), 1);
  const TargetOutcome out = target.stop();
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_EQ(out.counters(), expected_counters(target.signals_sent())) << out.err.substr(0, 2000);
}

}  // namespace
}  // namespace gputrace::cupti
