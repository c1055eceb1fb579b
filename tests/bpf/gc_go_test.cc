// Go 1.19 (golang-go), plain, stripped and cgo-linked: GC cycles equal runtime.NumGC; the collector's stop-the-world time
// equals MemStats.PauseTotalNs within 5 % or 50 µs per pause; the stops that ReadMemStats
// and GOMAXPROCS make are reported as not GC, with their reason.
#include "gc_test_support.h"

#include "userspace/gc/pause_stats.h"

#include <filesystem>

namespace gputrace::gc::testing {
namespace {

// The workload as Go services ship it (tests/testprogs/CMakeLists.txt builds each once):
// plain (-w keeps .symtab), stripped (-s -w: only the pclntab names the runtime's functions),
// cgo-linked PIE stripped (external linking; the pclntab inside .data.rel.ro).
double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

class GcGo : public ::testing::TestWithParam<const char*> {};

TEST_P(GcGo, CyclesAndPauseTimeMatchMemStats) {
  // GPUTRACE_GO_TESTPROGS overrides the directory: the same builds by another Go release.
  const char* dir = getenv("GPUTRACE_GO_TESTPROGS");
#ifdef GPUTRACE_GO_TESTPROGS_DIR
  if (!dir) dir = GPUTRACE_GO_TESTPROGS_DIR;
#endif
  const std::string bin = dir ? std::string(dir) + "/gcpauses_" + GetParam() : std::string();
  ASSERT_TRUE(!bin.empty() && std::filesystem::exists(bin))
      << "the Go test programs were not built: scripts/install-deps.sh installs golang-go; reconfigure";

  // Started after the tracer, from a binary it has never seen.
  LiveGcTracer live;
  ASSERT_EQ(live.error(), "");
  Child go(realtime({bin, "60", "--wait"}));
  ASSERT_TRUE(live.wait_traced(go.pid())) << "pid " << go.pid() << " was never attached";
  EXPECT_EQ(live.tracer().attachments().traced().at(go.pid()).runtime, Runtime::Go);
  const std::string version = live.tracer().attachments().traced().at(go.pid()).version;
  go.go();
  ASSERT_EQ(live.finish(go), 0) << go.output();

  const auto window = go.lines("window");
  const auto numgc = go.lines("numgc");
  const auto pausetotal = go.lines("pausetotal");
  const auto notgc = go.lines("notgc");
  ASSERT_TRUE(window.size() == 1 && numgc.size() == 1 && pausetotal.size() == 1 && notgc.size() == 1) << go.output();
  const uint64_t begin = std::stoull(window[0][1]), end = std::stoull(window[0][2]);
  const uint64_t want_cycles = std::stoull(numgc[0][1]), want_pause_ns = std::stoull(pausetotal[0][1]);
  const uint64_t want_not_gc = std::stoull(notgc[0][1]) + std::stoull(notgc[0][2]);

  uint64_t cycles = 0;
  for (const auto& c : live.cycles(go.pid()))
    if (c.begin_ns >= begin && c.hdr.ts_ns <= end) ++cycles;
  uint64_t gc_pauses = 0, gc_ns = 0, not_gc = 0, unknown = 0;
  std::vector<double> sweep_us, mark_us;
  std::map<std::string, uint64_t> reasons;
  for (const auto& p : live.pauses(go.pid())) {
    if (p.begin_ns < begin || p.hdr.ts_ns > end) continue;
    EXPECT_EQ(p.runtime, GT_GC_RT_GO);
    if (p.cause == GT_GC_CAUSE_GO_SWEEP_TERM || p.cause == GT_GC_CAUSE_GO_MARK_TERM) {
      ++gc_pauses;
      gc_ns += p.duration_ns;
      (p.cause == GT_GC_CAUSE_GO_SWEEP_TERM ? sweep_us : mark_us).push_back(static_cast<double>(p.duration_ns) / 1000);
    } else if (p.cause == GT_GC_CAUSE_NOT_GC) {
      ++not_gc;
      ++reasons[go_stw_reason(p.stw_reason, p.reason, sizeof(p.reason))];  // text before Go 1.21, enum since
    } else {
      ++unknown;
    }
  }
  EXPECT_EQ(live.begin_markers_match(go.pid()), "");
  EXPECT_GT(want_cycles, 30u);
  EXPECT_EQ(cycles, want_cycles) << "GC cycles: gputrace " << cycles << ", runtime.NumGC " << want_cycles;
  EXPECT_EQ(gc_pauses, 2 * want_cycles) << "two stop-the-worlds per cycle";
  EXPECT_EQ(unknown, 0u) << "stop-the-worlds of unknown cause";
  EXPECT_EQ(not_gc, want_not_gc) << "ReadMemStats and GOMAXPROCS stops";
  EXPECT_EQ(reasons["read mem stats"] + reasons["GOMAXPROCS"], want_not_gc);
  const double floor_ns = 50'000.0 * static_cast<double>(gc_pauses);
  EXPECT_TRUE(agrees(static_cast<double>(gc_ns), static_cast<double>(want_pause_ns), floor_ns))
      << "STW total: gputrace " << gc_ns << " ns, MemStats.PauseTotalNs " << want_pause_ns << " ns";
  std::cout << version << " " << GetParam() << ": " << cycles << " cycles (NumGC " << want_cycles << "), GC STW total " << gc_ns / 1000
            << " us vs PauseTotalNs " << want_pause_ns / 1000 << " us over " << gc_pauses << " pauses ("
            << (static_cast<double>(gc_ns) - static_cast<double>(want_pause_ns)) / static_cast<double>(gc_pauses) / 1000
            << " us per pause); median sweep termination " << median(sweep_us) << " us, mark termination "
            << median(mark_us) << " us; not GC: " << not_gc << "\n";
}

INSTANTIATE_TEST_SUITE_P(Builds, GcGo, ::testing::Values("plain", "stripped", "cgo_pie_stripped"));

}  // namespace
}  // namespace gputrace::gc::testing
