// Discovery: a CPython started before the tracer and one started after are both traced and
// told apart; a filter keeps other runtimes out; an untraceable interpreter is explained.
#include "gc_test_support.h"

#include "userspace/gc/gc_doctor.h"

#include <fstream>

namespace gputrace::gc::testing {
namespace {

constexpr const char* kPython = "/usr/bin/python3.11";

uint64_t callbacks_in(const Child& c) { return c.lines("gc").size(); }

uint64_t pauses_in_window(const LiveGcTracer& live, const Child& c) {
  const auto w = c.lines("window");
  if (w.size() != 1) return 0;
  const uint64_t begin = std::stoull(w[0][1]), end = std::stoull(w[0][2]);
  uint64_t n = 0;
  for (const auto& p : live.pauses(c.pid())) n += p.begin_ns >= begin && p.hdr.ts_ns <= end;
  return n;
}

TEST(GcDiscovery, ProcessesBeforeAndAfterStartAreTracedApart) {
  ASSERT_EQ(access(kPython, X_OK), 0);
  const std::string script = source_path("tests/testprogs/gc/gc_callbacks.py");
  Child before(realtime({kPython, script, "60", "--wait"}));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  GcOptions options;
  options.filter.runtimes = {Runtime::CPython};
  LiveGcTracer live(options);
  ASSERT_EQ(live.error(), "");
  ASSERT_TRUE(live.wait_traced(before.pid()));
  Child after(realtime({kPython, script, "90", "--wait"}));
  ASSERT_TRUE(live.wait_traced(after.pid()));

  before.go();
  after.go();
  std::thread other([&] { after.finish(); });
  ASSERT_EQ(live.finish(before), 0);
  other.join();
  for (int i = 0; i < 5; ++i) live.poll(10);

  const uint64_t a = pauses_in_window(live, before), b = pauses_in_window(live, after);
  EXPECT_EQ(a, callbacks_in(before));
  EXPECT_EQ(b, callbacks_in(after));
  EXPECT_GT(a, 0u);
  EXPECT_NE(callbacks_in(before), callbacks_in(after)) << "the two workloads differ in size, so a mix-up shows";
  for (const auto& [pid, t] : live.tracer().attachments().traced()) EXPECT_EQ(t.runtime, Runtime::CPython);
  std::cout << "before: pid " << before.pid() << " " << a << "/" << callbacks_in(before) << " collections; after: pid "
            << after.pid() << " " << b << "/" << callbacks_in(after) << "\n";
}

// A process in its own pid namespace: traced under its host pid, with its namespace pid kept.
TEST(GcDiscovery, ProcessInAnotherPidNamespace) {
  ASSERT_EQ(access(kPython, X_OK), 0);
  LiveGcTracer live;
  ASSERT_EQ(live.error(), "");
  Child ns({"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", kPython,
            source_path("tests/testprogs/gc/gc_callbacks.py"), "40", "--wait"});
  int host_pid = 0;  // unshare forks the interpreter: find it among unshare's children
  for (int i = 0; i < 100 && !host_pid; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream children(fmt::format("/proc/{}/task/{}/children", ns.pid(), ns.pid()));
    children >> host_pid;
  }
  ASSERT_GT(host_pid, 0);
  ASSERT_TRUE(live.wait_traced(host_pid));
  EXPECT_EQ(live.tracer().attachments().traced().at(host_pid).ns_pid, 1);
  ns.go();
  ASSERT_EQ(live.finish(ns), 0) << ns.output();
  const auto pauses = live.pauses(host_pid);
  ASSERT_FALSE(pauses.empty());
  for (const auto& p : pauses) EXPECT_EQ(p.ns_pid, 1u) << "the interpreter is pid 1 in its namespace";
  std::cout << "pid namespace: host pid " << host_pid << ", namespace pid 1, " << pauses.size() << " pauses\n";
}

// The pyenv python3 on PATH on the CI machine has no USDT notes: the doctor says why.
TEST(GcDiscovery, UntraceableInterpreterIsExplained) {
  const char* pyenv = "/root/.pyenv/shims/python3";
  if (access(pyenv, X_OK) != 0) GTEST_SKIP() << "no pyenv python3 on this machine";
  Child py({"/bin/sh", "-c", std::string("exec ") + pyenv + " -c 'import sys; sys.stdin.readline()'"});
  std::vector<GcDiagnosis> found;
  for (int i = 0; i < 50 && found.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    GcFilter f;
    f.pids = {py.pid()};
    found = diagnose_gc_runtimes(f);
  }
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].detection.runtime, Runtime::CPython);
  EXPECT_FALSE(found[0].detection.traceable);
  EXPECT_NE(found[0].detection.problem.find("--with-dtrace"), std::string::npos) << found[0].detection.problem;
  std::cout << format_gc_diagnosis(found);
  py.go();
  py.finish();
}

}  // namespace
}  // namespace gputrace::gc::testing
