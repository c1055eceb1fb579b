// CPython 3.11 (/usr/bin/python3.11, built --with-dtrace): every collection the interpreter's
// own gc.callbacks see is one GT_EV_GC_PAUSE, with the same duration within 5 % or 50 µs
// (all but a few: see DurationAgreement).
#include "gc_test_support.h"

#include "userspace/gc/pause_stats.h"

namespace gputrace::gc::testing {
namespace {

constexpr const char* kPython = "/usr/bin/python3.11";

struct Collection {
  int generation;
  uint64_t start, stop;
};

std::vector<Collection> callbacks_of(const Child& c) {
  std::vector<Collection> out;
  for (const auto& f : c.lines("gc"))
    out.push_back({std::stoi(f[1]), std::stoull(f[2]), std::stoull(f[3])});
  return out;
}

TEST(GcPython, EveryCollectionMatchesGcCallbacks) {
  ASSERT_EQ(access(kPython, X_OK), 0) << kPython << " is missing: scripts/install-deps.sh installs python3.11";
  // Started before the tracer: found by the /proc scan.
  Child py(realtime({kPython, source_path("tests/testprogs/gc/gc_callbacks.py"), "150", "--wait"}));
  ASSERT_GT(py.pid(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the interpreter start
  LiveGcTracer live;
  ASSERT_EQ(live.error(), "");
  ASSERT_TRUE(live.wait_traced(py.pid())) << "pid " << py.pid() << " was never attached";
  EXPECT_EQ(live.tracer().attachments().traced().at(py.pid()).runtime, Runtime::CPython);
  py.go();
  ASSERT_EQ(live.finish(py), 0) << py.output();

  const auto window = py.lines("window");
  ASSERT_EQ(window.size(), 1u) << py.output();
  const uint64_t begin = std::stoull(window[0][1]), end = std::stoull(window[0][2]);
  const auto expected = callbacks_of(py);
  std::vector<gt_gc_pause_event> seen;
  for (const auto& p : live.pauses(py.pid()))
    if (p.begin_ns >= begin && p.hdr.ts_ns <= end) seen.push_back(p);

  ASSERT_GT(expected.size(), 30u);
  ASSERT_EQ(seen.size(), expected.size()) << "gputrace counted " << seen.size() << " collections, gc.callbacks "
                                          << expected.size();
  DurationAgreement durations(50'000);
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& e = expected[i];
    const auto& p = seen[i];
    // The USDT pair fires inside the callbacks' start/stop: the same collection, never longer.
    EXPECT_GE(p.begin_ns, e.start) << "collection " << i;
    EXPECT_LE(p.hdr.ts_ns, e.stop) << "collection " << i;
    EXPECT_EQ(p.generation, e.generation) << "collection " << i;
    EXPECT_EQ(p.runtime, GT_GC_RT_CPYTHON);
    EXPECT_EQ(p.cause, GT_GC_CAUSE_COLLECTION);
    EXPECT_EQ(static_cast<int>(p.ns_pid), py.pid());
    durations.add(fmt::format("collection {}", i), static_cast<double>(p.duration_ns),
                  static_cast<double>(e.stop - e.start));
  }
  EXPECT_EQ(durations.verdict(), "");
  EXPECT_EQ(live.begin_markers_match(py.pid()), "");
  PauseStats stats;
  live.for_each_record([&](const Record& r) { stats.on_record(r); });
  const auto summary = stats.summary();
  ASSERT_FALSE(summary.empty());
  std::cout << "python3.11: " << expected.size() << " collections (gc.callbacks) = " << seen.size()
            << " (gputrace); " << durations.summary() << "\n"
            << stats.format_text();
}

}  // namespace
}  // namespace gputrace::gc::testing
