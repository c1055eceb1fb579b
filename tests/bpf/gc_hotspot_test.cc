// OpenJDK 17 (libjvm.so with hotspot:gc__begin/gc__end): every pause that -Xlog:gc reports is
// one GT_EV_GC_PAUSE, with the same duration within 5 % or 50 µs
// (all but a few: see DurationAgreement).
#include "gc_test_support.h"

#include <filesystem>
#include <fstream>
#include <regex>

namespace gputrace::gc::testing {
namespace {

constexpr const char* kJava = "/usr/lib/jvm/java-17-openjdk-amd64/bin/java";
constexpr const char* kJavac = "/usr/lib/jvm/java-17-openjdk-amd64/bin/javac";

struct LoggedPause {
  uint64_t logged_at;  // System.nanoTime() when the line was written: the end of the pause
  double ms;
  bool full;
};

// "[935448452917ns] GC(6) Pause Full (System.gc()) 386M->8M(56M) 50.422ms"
std::vector<LoggedPause> read_gc_log(const std::string& path) {
  static const std::regex line(R"(^\[(\d+)ns\] GC\(\d+\) Pause (\w+).* ([0-9.]+)ms$)");
  std::vector<LoggedPause> out;
  std::ifstream in(path);
  std::string s;
  std::smatch m;
  while (std::getline(in, s))
    if (std::regex_match(s, m, line)) out.push_back({std::stoull(m[1]), std::stod(m[3]), m[2] == "Full"});
  return out;
}

TEST(GcHotspot, EveryPauseMatchesXlogGc) {
  ASSERT_EQ(access(kJava, X_OK), 0) << kJava << " is missing: scripts/install-deps.sh installs openjdk-17-jdk-headless";
  const auto dir = std::filesystem::temp_directory_path() / ("gputrace-gc-java-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  ASSERT_EQ(run_shell(fmt::format("{} -d {} {}", kJavac, dir.string(), source_path("tests/testprogs/gc/GcPauses.java"))), 0);
  const std::string log = (dir / "gc.log").string();

  // Started after the tracer: found by the rescan once libjvm.so is mapped.
  LiveGcTracer live;
  ASSERT_EQ(live.error(), "");
  Child java(realtime({kJava, "-Xmx256m", "-XX:+UseG1GC", "-XX:-UseDynamicNumberOfGCThreads", "-Xlog:gc:file=" + log + ":tn", "-cp", dir.string(),
                       "GcPauses", "2", "--wait"}));
  ASSERT_TRUE(live.wait_traced(java.pid())) << "pid " << java.pid() << " was never attached";
  EXPECT_EQ(live.tracer().attachments().traced().at(java.pid()).runtime, Runtime::HotSpot);
  java.go();
  ASSERT_EQ(live.finish(java), 0) << java.output();

  const auto window = java.lines("window");
  ASSERT_EQ(window.size(), 1u) << java.output();
  const uint64_t begin = std::stoull(window[0][1]), end = std::stoull(window[0][2]);
  std::vector<LoggedPause> expected;
  for (const auto& p : read_gc_log(log))
    if (p.logged_at >= begin && p.logged_at <= end) expected.push_back(p);
  std::vector<gt_gc_pause_event> seen;
  for (const auto& p : live.pauses(java.pid()))
    if (p.begin_ns >= begin && p.hdr.ts_ns <= end) seen.push_back(p);
  std::filesystem::remove_all(dir);

  ASSERT_GE(expected.size(), 4u);
  ASSERT_EQ(seen.size(), expected.size()) << "gputrace counted " << seen.size() << " pauses, -Xlog:gc " << expected.size();
  DurationAgreement durations(50'000);
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& p = seen[i];
    // The log line is written as the pause ends: after this pause began, before the next one.
    EXPECT_LE(p.begin_ns, expected[i].logged_at) << "pause " << i;
    if (i + 1 < seen.size()) {
      EXPECT_LT(expected[i].logged_at, seen[i + 1].begin_ns) << "pause " << i;
    }
    EXPECT_GE(p.span_ns, p.duration_ns) << "pause " << i;
    EXPECT_EQ(p.runtime, GT_GC_RT_HOTSPOT);
    EXPECT_EQ(bool(p.flags & GT_GC_F_FULL), expected[i].full) << "pause " << i;
    durations.add(fmt::format("pause {}", i), static_cast<double>(p.duration_ns), expected[i].ms * 1e6);
  }
  EXPECT_EQ(durations.verdict(), "");
  EXPECT_EQ(live.begin_markers_match(java.pid()), "");
  std::cout << "hotspot 17: " << expected.size() << " pauses (-Xlog:gc) = " << seen.size()
            << " (gputrace); " << durations.summary() << "\n";
}

}  // namespace
}  // namespace gputrace::gc::testing
