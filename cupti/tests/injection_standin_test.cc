// The injection library's orchestration in a real process, with a stand-in libcupti preloaded
// (standin_cupti.cc: a test double for the vendor library, which needs a GPU and a driver to
// subscribe): subscribing or stepping aside for another CUPTI client, the buffer callbacks,
// the flush thread, the forced flush at exit, fork, and what it tells CUPTI. The application
// (injection_host_app.cc) loads the library as libcuda would; its batches go over the real
// socket route to a SeqpacketListener and through the daemon's GpuIngest.
#include "host_run.h"

#include <cupti.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <csignal>
#include <string>
#include <vector>

namespace gputrace::cupti {
namespace {

using testing::HostRun;
using testing::run_host;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(InjectionWithStandinCupti, StepsAsideForAnotherSubscriberAndNamesIt) {
  const HostRun r = run_host({"kernels", "3"},
                         {"GPUTRACE_STANDIN_SUBSCRIBE=" + std::to_string(CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED),
                          "GPUTRACE_STANDIN_HOLDER=Nsight Systems"});
  EXPECT_EQ(r.program.exit_code, 0) << r.program.err;
  EXPECT_TRUE(has(r.program.out, "injection=1\n")) << r.program.out;  // success for libcuda anyway
  EXPECT_TRUE(has(r.program.out, "host=done\n")) << r.program.out;
  EXPECT_TRUE(has(r.program.err, "CUPTI is already in use by Nsight Systems in this process")) << r.program.err;
  EXPECT_FALSE(r.called("cuptiActivityRegisterCallbacks")) << r.program.err;
  EXPECT_FALSE(r.called("cuptiActivityEnable")) << r.program.err;
  ASSERT_FALSE(r.statuses.empty());
  EXPECT_EQ(r.statuses.front().state, GT_GPU_STATE_OTHER_SUBSCRIBER);
  EXPECT_EQ(r.statuses.front().cupti_result, CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED);
  EXPECT_STREQ(r.statuses.front().holder, "Nsight Systems");
  EXPECT_EQ(r.kernels(), 0);
}

// The flush thread collects buffers CUPTI has not filled: _exit skips the final flush, so the
// kernels can only have come through it.
TEST(InjectionWithStandinCupti, TheFlushThreadDeliversPartlyFilledBuffers) {
  const HostRun r = run_host({"kernels", "3", "sleep", "300", "_exit"}, {"GPUTRACE_CUPTI_FLUSH_MS=20"});
  EXPECT_EQ(r.program.exit_code, 0) << r.program.err;
  EXPECT_TRUE(r.called("cuptiActivityFlushAll(0) delivers 3")) << r.program.err;
  EXPECT_EQ(r.kernels(), 3);
  EXPECT_EQ(r.kinds.at(GT_EV_GPU_NAME), 1);
  EXPECT_TRUE(r.saw_state(GT_GPU_STATE_ACTIVE));
  EXPECT_FALSE(r.saw_state(GT_GPU_STATE_EXITING));
  EXPECT_EQ(r.rejected, 0u);
  EXPECT_TRUE(r.called("cuptiActivityRegisterTimestampCallback()")) << r.program.err;
  EXPECT_EQ(r.statuses.front().clock_mode, GT_GPU_CLOCK_MONOTONIC);
}

// With a flush period longer than the run, only the forced flush at exit can deliver.
TEST(InjectionWithStandinCupti, TheForcedFlushAtExitDeliversTheLastBuffer) {
  const HostRun r = run_host({"kernels", "4"}, {"GPUTRACE_CUPTI_FLUSH_MS=60000"});
  EXPECT_EQ(r.program.exit_code, 0) << r.program.err;
  EXPECT_TRUE(r.called("cuptiActivityFlushAll(" + std::to_string(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED) + ") delivers 4"))
      << r.program.err;
  EXPECT_EQ(r.kernels(), 4);
  ASSERT_FALSE(r.statuses.empty());
  EXPECT_EQ(r.statuses.back().state, GT_GPU_STATE_EXITING);
  EXPECT_EQ(r.statuses.back().records, 4u);
  EXPECT_EQ(r.rejected, 0u);
}

// A forked child inherits the library but not its flush thread nor CUPTI: its exit handler
// must neither wait for the thread (forever) nor call CUPTI; the parent traces on.
TEST(InjectionWithStandinCupti, AForkedChildExitsWithoutTouchingCupti) {
  const HostRun r = run_host({"kernels", "2", "sleep", "100", "fork", "kernels", "1"}, {"GPUTRACE_CUPTI_FLUSH_MS=20"});
  EXPECT_EQ(r.program.exit_code, 0) << r.program.err;
  ASSERT_TRUE(has(r.program.out, "child=exited status=0")) << r.program.out;
  const size_t at = r.program.out.find("pid=");
  ASSERT_NE(at, std::string::npos);
  const std::string child = r.program.out.substr(at + 4, r.program.out.find('\n', at) - at - 4);
  EXPECT_FALSE(has(r.program.err, "standin-cupti[" + child + "]")) << r.program.err;  // no CUPTI call
  EXPECT_FALSE(has(r.program.err, "gputrace-cupti[" + child + "]")) << r.program.err;
  EXPECT_EQ(r.kernels(), 3);
  EXPECT_TRUE(r.saw_state(GT_GPU_STATE_EXITING));
}

// API records carry CUPTI's thread id: pthread_self() unless CUPTI is told to use the
// kernel's, which has to happen before the API kinds are enabled.
TEST(InjectionWithStandinCupti, ApiTracingAsksForKernelThreadIdsFirst) {
  const HostRun r = run_host({}, {"GPUTRACE_CUPTI_API=1"});
  const std::string& err = r.program.err;
  const size_t thread_type = err.find("cuptiSetThreadIdType(" + std::to_string(CUPTI_ACTIVITY_THREAD_ID_TYPE_SYSTEM) + ")");
  const size_t runtime = err.find("cuptiActivityEnable(" + std::to_string(CUPTI_ACTIVITY_KIND_RUNTIME) + ")");
  const size_t driver = err.find("cuptiActivityEnable(" + std::to_string(CUPTI_ACTIVITY_KIND_DRIVER) + ")");
  ASSERT_NE(thread_type, std::string::npos) << err;
  ASSERT_NE(runtime, std::string::npos) << err;
  ASSERT_NE(driver, std::string::npos) << err;
  EXPECT_LT(thread_type, runtime);
  EXPECT_LT(thread_type, driver);
  const HostRun off = run_host({}, {"GPUTRACE_CUPTI_API=off"});
  EXPECT_FALSE(off.called("cuptiActivityEnable(" + std::to_string(CUPTI_ACTIVITY_KIND_RUNTIME) + ")")) << off.program.err;
  EXPECT_TRUE(off.called("cuptiActivityEnable(" + std::to_string(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) + ")"));
}

// Claimed but unusable: the subscriber slot goes back, so a profiler started later can have it.
TEST(InjectionWithStandinCupti, GivesCuptiBackWhenItCannotUseIt) {
  const HostRun r = run_host({"kernels", "1"}, {"GPUTRACE_STANDIN_REGISTER=" + std::to_string(CUPTI_ERROR_UNKNOWN)});
  EXPECT_EQ(r.program.exit_code, 0) << r.program.err;
  EXPECT_TRUE(has(r.program.out, "host=done")) << r.program.out;
  EXPECT_TRUE(has(r.program.err, "cuptiActivityRegisterCallbacks failed")) << r.program.err;
  EXPECT_TRUE(r.called("cuptiUnsubscribe()")) << r.program.err;
  EXPECT_FALSE(r.called("cuptiActivityEnable")) << r.program.err;
  ASSERT_FALSE(r.statuses.empty());
  EXPECT_EQ(r.statuses.back().state, GT_GPU_STATE_CUPTI_FAILED);
}

// Only the optional kinds could be enabled: they are switched off again before the slot goes
// back, or CUPTI would go on filling buffers nobody reads.
TEST(InjectionWithStandinCupti, LeavesNothingEnabledWhenNoCoreKindIs) {
  const std::string core = std::to_string(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) + "," +
                           std::to_string(CUPTI_ACTIVITY_KIND_MEMCPY) + "," + std::to_string(CUPTI_ACTIVITY_KIND_MEMSET);
  const HostRun r = run_host({"kernels", "1"}, {"GPUTRACE_CUPTI_API=1", "GPUTRACE_STANDIN_ENABLE_FAIL=" + core});
  EXPECT_EQ(r.program.exit_code, 0) << r.program.err;
  EXPECT_TRUE(has(r.program.err, "no CUPTI activity kind could be enabled")) << r.program.err;
  EXPECT_TRUE(r.called("cuptiActivityDisable(" + std::to_string(CUPTI_ACTIVITY_KIND_RUNTIME) + ")")) << r.program.err;
  EXPECT_TRUE(r.called("cuptiActivityDisable(" + std::to_string(CUPTI_ACTIVITY_KIND_DRIVER) + ")")) << r.program.err;
  EXPECT_TRUE(r.called("cuptiUnsubscribe()")) << r.program.err;
  ASSERT_FALSE(r.statuses.empty());
  EXPECT_EQ(r.statuses.back().state, GT_GPU_STATE_CUPTI_FAILED);
}

// From CUDA 13 the last two digits are CUPTI's patch level: a newer patch keeps the records,
// a newer release may not.
TEST(InjectionWithStandinCupti, SaysOnceWhenLibcuptiIsNewerThanItsHeaders) {
  const uint32_t next_release = CUPTI_API_VERSION >= 130000 ? (CUPTI_API_VERSION / 100 + 1) * 100 : CUPTI_API_VERSION + 1;
  const HostRun r = run_host({}, {"GPUTRACE_STANDIN_VERSION=" + std::to_string(next_release)});
  const std::string line = "newer than the " + std::to_string(CUPTI_API_VERSION);
  const size_t at = r.program.err.find(line);
  EXPECT_NE(at, std::string::npos) << r.program.err;
  EXPECT_EQ(r.program.err.find(line, at + 1), std::string::npos) << r.program.err;
  ASSERT_FALSE(r.statuses.empty());
  EXPECT_EQ(r.statuses.front().cupti_version, next_release);
  const HostRun same = run_host({}, {});
  EXPECT_FALSE(has(same.program.err, "newer than")) << same.program.err;
  if (CUPTI_API_VERSION >= 130000 && CUPTI_API_VERSION % 100 < 99) {
    const HostRun patch = run_host({}, {"GPUTRACE_STANDIN_VERSION=" + std::to_string(CUPTI_API_VERSION + 1)});
    EXPECT_FALSE(has(patch.program.err, "newer than")) << patch.program.err;
  }
}

// The flush thread blocks every signal but the faults: the application's handlers and sigwait
// threads see their signals, not this thread.
TEST(InjectionWithStandinCupti, TheFlushThreadTakesNoSignals) {
  const HostRun r = run_host({"sigblk"}, {});
  const size_t at = r.program.out.find("flush_thread_sigblk=");
  ASSERT_NE(at, std::string::npos) << r.program.out << r.program.err;
  const uint64_t mask = std::stoull(r.program.out.substr(at + 20), nullptr, 16);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD, SIGPIPE, SIGALRM})
    EXPECT_TRUE(mask & (uint64_t{1} << (sig - 1))) << "signal " << sig << " not blocked: " << std::hex << mask;
  // A fault in the thread must still reach the application's crash handler.
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL})
    EXPECT_FALSE(mask & (uint64_t{1} << (sig - 1))) << "fault signal " << sig << " blocked: " << std::hex << mask;
}

TEST(InjectionWithStandinCupti, NamesAMistypedSettingAndRunsWithTheDefault) {
  const HostRun r = run_host({"kernels", "1"}, {"GPUTRACE_CUPTI_FLUSH_MS=fast"});
  EXPECT_TRUE(has(r.program.err, "GPUTRACE_CUPTI_FLUSH_MS=fast")) << r.program.err;
  EXPECT_EQ(r.kernels(), 1);
}

}  // namespace
}  // namespace gputrace::cupti
