// gc_pause_long on a real CPython 3.11 process: a full collection over 1.5 million objects
// crosses the threshold (set to half its duration, so the test stays quick on any machine; the
// default is 200 ms), the collection before it does not; the finding's pause is the one the interpreter timed.
#include "gc_test_support.h"

#include "userspace/analyze/gc_findings.h"

namespace gputrace::gc::testing {
namespace {

TEST(GcFindingsLive, LongCpythonCollectionIsALongPause) {
  constexpr const char* kPython = "/usr/bin/python3.11";
  ASSERT_EQ(access(kPython, X_OK), 0) << kPython << " is missing: scripts/install-deps.sh installs python3.11";
  LiveGcTracer live;
  ASSERT_EQ(live.error(), "");
  Child py(realtime({kPython, source_path("tests/testprogs/gc/long_collection.py"), "1500000", "--wait"}));
  ASSERT_TRUE(live.wait_traced(py.pid())) << "pid " << py.pid() << " was never attached";
  py.go();
  ASSERT_EQ(live.finish(py), 0) << py.output();
  const auto collects = py.lines("collect");
  ASSERT_EQ(collects.size(), 2u) << py.output();
  const uint64_t long_start = std::stoull(collects[1][2]), long_stop = std::stoull(collects[1][3]);
  const uint64_t short_ns = std::stoull(collects[0][3]) - std::stoull(collects[0][2]);
  ASSERT_GT(long_stop - long_start, 10 * short_ns) << py.output();

  // The threshold halfway to the long collection (40-50 ms here): quick on any machine.
  GcFindingConfig config;
  config.pause_long_ns = (long_stop - long_start) / 2;
  ProcessTable processes;
  FindingSink sink;
  GcFindings findings(config, processes, sink);
  for (const auto& p : live.pauses(py.pid())) findings.on_pause(p);

  ASSERT_EQ(sink.all().size(), 1u) << "one pause over " << config.pause_long_ns << " ns";
  const Finding& f = sink.all()[0];
  EXPECT_EQ(f.kind, FindingKind::gc_pause_long);
  EXPECT_EQ(f.pid, static_cast<uint32_t>(py.pid()));
  EXPECT_GE(f.start_ns, long_start);  // the USDT pair lies inside the interpreter's own timing
  EXPECT_LE(f.end_ns, long_stop);
  EXPECT_EQ(f.evidence["kind"], "generation 2");
  EXPECT_EQ(f.evidence["runtime"], "cpython");
  std::cout << f.message << " (interpreter: " << (long_stop - long_start) / 1000 << " us)\n";
}

}  // namespace
}  // namespace gputrace::gc::testing
