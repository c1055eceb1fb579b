// Go 1.19 (golang-go): GC cycles equal runtime.NumGC; the collector's stop-the-world time
// equals MemStats.PauseTotalNs within 5 % or 50 µs per pause; the stops that ReadMemStats
// and GOMAXPROCS make are reported as not GC, with their reason.
#include "gc_test_support.h"

#include <filesystem>

namespace gputrace::gc::testing {
namespace {

std::string build_workload(const std::filesystem::path& dir) {
  const std::string bin = (dir / "gcpauses").string();
  // -ldflags=-w drops DWARF but keeps the symbol table the uprobes need.
  const std::string cmd = fmt::format("cd {} && HOME={} GOCACHE={}/cache go build -ldflags=-w -o {} .",
                                      source_path("tests/testprogs/gc/go"), dir.string(), dir.string(), bin);
  return run_shell(cmd) == 0 ? bin : std::string();
}

TEST(GcGo, CyclesAndPauseTimeMatchMemStats) {
  ASSERT_EQ(run_shell("command -v go >/dev/null"), 0) << "go is missing: scripts/install-deps.sh installs golang-go";
  const auto dir = std::filesystem::temp_directory_path() / ("gputrace-gc-go-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string bin = build_workload(dir);
  ASSERT_FALSE(bin.empty()) << "go build failed";

  // Started after the tracer, from a binary it has never seen.
  LiveGcTracer live;
  ASSERT_EQ(live.error(), "");
  Child go(realtime({bin, "60", "--wait"}));
  ASSERT_TRUE(live.wait_traced(go.pid())) << "pid " << go.pid() << " was never attached";
  EXPECT_EQ(live.tracer().attachments().traced().at(go.pid()).runtime, Runtime::Go);
  go.go();
  ASSERT_EQ(live.finish(go), 0) << go.output();
  std::filesystem::remove_all(dir);

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
  std::map<std::string, uint64_t> reasons;
  for (const auto& p : live.pauses(go.pid())) {
    if (p.begin_ns < begin || p.hdr.ts_ns > end) continue;
    EXPECT_EQ(p.runtime, GT_GC_RT_GO);
    if (p.cause == GT_GC_CAUSE_GO_SWEEP_TERM || p.cause == GT_GC_CAUSE_GO_MARK_TERM) {
      ++gc_pauses;
      gc_ns += p.duration_ns;
    } else if (p.cause == GT_GC_CAUSE_NOT_GC) {
      ++not_gc;
      ++reasons[std::string(p.reason, strnlen(p.reason, sizeof(p.reason)))];
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
  std::cout << "go1.19: " << cycles << " cycles (NumGC " << want_cycles << "), GC STW total " << gc_ns / 1000
            << " us vs PauseTotalNs " << want_pause_ns / 1000 << " us over " << gc_pauses << " pauses ("
            << (static_cast<double>(gc_ns) - static_cast<double>(want_pause_ns)) / static_cast<double>(gc_pauses) / 1000
            << " us per pause); not GC: " << not_gc << "\n";
}

}  // namespace
}  // namespace gputrace::gc::testing
