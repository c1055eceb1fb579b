// The GC pause analyzer on hand-made record sequences; the duration histogram; Go build info.
#include "userspace/gc/duration_histogram.h"
#include "userspace/gc/go_buildinfo.h"
#include "userspace/gc/pause_stats.h"

extern "C" {
#include "bpf/gc.h"
}

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace gputrace::gc {
namespace {

// Owns the bytes a Record views.
struct Bytes {
  std::vector<std::byte> data;
  template <class T>
  explicit Bytes(const T& v) : data(sizeof(T)) {
    std::memcpy(data.data(), &v, sizeof(T));
  }
  Record record() const {
    Record r;
    std::memcpy(&r.header, data.data(), sizeof(r.header));
    r.bytes = data;
    return r;
  }
};

gt_gc_pause_event pause(uint32_t pid, uint64_t begin, uint64_t dur, uint8_t runtime, uint8_t cause) {
  gt_gc_pause_event e{};
  e.hdr.kind = GT_EV_GC_PAUSE;
  e.hdr.size = sizeof(e);
  e.hdr.pid = pid;
  e.hdr.ts_ns = begin + dur;
  e.begin_ns = begin;
  e.duration_ns = dur;
  e.span_ns = dur;
  e.ns_pid = pid == 300 ? 7 : pid;
  e.runtime = runtime;
  e.cause = cause;
  e.stw_reason = GT_GO_NO_REASON;
  return e;
}

TEST(GcPauseStats, PerProcessCountsTotalsAndShares) {
  PauseStats stats;
  const uint64_t t0 = 1'000'000'000;
  for (int i = 0; i < 100; ++i)  // CPython: 1 ms every 10 ms
    stats.on_record(Bytes(pause(100, t0 + i * 10'000'000ull, 1'000'000, GT_GC_RT_CPYTHON, GT_GC_CAUSE_COLLECTION)).record());
  auto full = pause(200, t0 + 5'000'000, 50'000'000, GT_GC_RT_HOTSPOT, GT_GC_CAUSE_COLLECTION);
  full.flags = GT_GC_F_FULL;
  stats.on_record(Bytes(full).record());
  auto rms = pause(300, t0 + 20'000'000, 30'000, GT_GC_RT_GO, GT_GC_CAUSE_NOT_GC);
  std::strcpy(rms.reason, "read mem stats");
  stats.on_record(Bytes(rms).record());
  stats.on_record(Bytes(pause(300, t0 + 30'000'000, 20'000, GT_GC_RT_GO, GT_GC_CAUSE_GO_SWEEP_TERM)).record());
  stats.on_record(Bytes(pause(300, t0 + 40'000'000, 40'000, GT_GC_RT_GO, GT_GC_CAUSE_GO_MARK_TERM)).record());
  gt_gc_cycle_event cyc{};
  cyc.hdr.kind = GT_EV_GC_CYCLE;
  cyc.hdr.size = sizeof(cyc);
  cyc.hdr.pid = 300;
  cyc.hdr.ts_ns = t0 + 40'040'000;
  cyc.runtime = GT_GC_RT_GO;
  cyc.ns_pid = 7;
  stats.on_record(Bytes(cyc).record());
  stats.set_window(t0, t0 + 1'000'000'000);

  const auto s = stats.summary();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].pid, 100);
  EXPECT_EQ(s[0].runtime, Runtime::CPython);
  EXPECT_EQ(s[0].count, 100u);
  EXPECT_EQ(s[0].total_ns, 100'000'000u);
  EXPECT_EQ(s[0].max_ns, 1'000'000u);
  EXPECT_NEAR(static_cast<double>(s[0].p50_ns), 1e6, 1e6 / 64);
  EXPECT_NEAR(s[0].wall_share, 0.10, 1e-9);
  EXPECT_EQ(s[1].full_count, 1u);
  EXPECT_EQ(s[2].ns_pid, 7);
  EXPECT_EQ(s[2].count, 2u);
  EXPECT_EQ(s[2].total_ns, 60'000u);
  EXPECT_EQ(s[2].cycles, 1u);
  EXPECT_EQ(s[2].non_gc_count, 1u);
  EXPECT_EQ(s[2].non_gc_total_ns, 30'000u);
  EXPECT_EQ(s[2].non_gc_reasons.at("read mem stats"), 1u);
  const std::string text = stats.format_text();
  EXPECT_NE(text.find("not GC: 1 stop-the-worlds"), std::string::npos) << text;
}

// What the fleet's "repeated full collections" alert counts: HotSpot's full collections and
// CPython's generation-2 collections; Go cycles and younger generations are not.
TEST(GcPauseStats, FullCollectionsOfHotSpotAndCPython) {
  PauseStats stats;
  const uint64_t t0 = 1'000'000'000;
  for (uint8_t generation : {0, 1, 2, 2, 0}) {
    auto p = pause(100, t0 + generation * 1'000'000ull, 100'000, GT_GC_RT_CPYTHON, GT_GC_CAUSE_COLLECTION);
    p.generation = generation;
    stats.on_record(Bytes(p).record());
  }
  auto full = pause(200, t0, 50'000'000, GT_GC_RT_HOTSPOT, GT_GC_CAUSE_COLLECTION);
  full.flags = GT_GC_F_FULL;
  stats.on_record(Bytes(full).record());
  stats.on_record(Bytes(pause(200, t0 + 60'000'000, 1'000'000, GT_GC_RT_HOTSPOT, GT_GC_CAUSE_COLLECTION)).record());
  stats.on_record(Bytes(pause(300, t0, 20'000, GT_GC_RT_GO, GT_GC_CAUSE_GO_MARK_TERM)).record());
  const auto s = stats.summary();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].full_collections, 2u);
  EXPECT_EQ(s[0].full_count, 0u) << "full_count stays HotSpot's";
  EXPECT_EQ(s[1].full_collections, 1u);
  EXPECT_EQ(s[2].full_collections, 0u);
}

TEST(GcPauseStats, IgnoresOtherKinds) {
  PauseStats stats;
  gt_event_header h{};
  h.kind = GT_EV_PROC_EXEC;
  h.size = sizeof(h);
  stats.on_record(Bytes(h).record());
  EXPECT_TRUE(stats.summary().empty());
}

TEST(GcPauseStats, GoReasonNamesFromStwReason) {
  EXPECT_EQ(go_stw_reason(7, "", 0), "read mem stats");
  EXPECT_EQ(go_stw_reason(9, "", 0), "GOMAXPROCS");
  EXPECT_EQ(go_stw_reason(200, "", 0), "stwReason 200");
  EXPECT_EQ(go_stw_reason(GT_GO_NO_REASON, "GOMAXPROCS", 24), "GOMAXPROCS");
}

TEST(GcDurationHistogram, PercentilesWithinOneBucket) {
  DurationHistogram h;
  for (uint64_t v = 1; v <= 10'000; ++v) h.add(v * 1000);
  EXPECT_EQ(h.count(), 10'000u);
  EXPECT_EQ(h.max(), 10'000'000u);
  for (double q : {0.5, 0.9, 0.99}) {
    const double want = q * 10'000'000;
    EXPECT_NEAR(static_cast<double>(h.percentile(q)), want, want / 32) << q;
  }
  DurationHistogram empty;
  EXPECT_EQ(empty.percentile(0.5), 0u);
}

TEST(GcGoBuildinfo, InlineVersionOfGo118AndLater) {
  std::vector<std::byte> section(32);
  const char magic[] = "\xff Go buildinf:";
  std::memcpy(section.data(), magic, 14);
  section[14] = std::byte{8};
  section[15] = std::byte{2};
  const std::string v = "go1.19.8";
  section.push_back(static_cast<std::byte>(v.size()));
  for (char c : v) section.push_back(static_cast<std::byte>(c));
  auto got = parse_go_buildinfo(section, [](uint64_t, size_t) { return std::span<const std::byte>{}; });
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, "go1.19.8");
  section.resize(34);  // truncated string
  EXPECT_FALSE(parse_go_buildinfo(section, [](uint64_t, size_t) { return std::span<const std::byte>{}; }));
}

TEST(GcGoBuildinfo, VersionDecidesTheAbi) {
  auto v119 = GoVersion::parse("go1.19.8");
  ASSERT_TRUE(v119);
  EXPECT_TRUE(v119->register_abi());
  EXPECT_FALSE(v119->stw_reason_enum());
  auto v122 = GoVersion::parse("go1.22rc1");
  ASSERT_TRUE(v122);
  EXPECT_EQ(v122->minor, 22);
  EXPECT_TRUE(v122->stw_reason_enum());
  EXPECT_FALSE(GoVersion::parse("go1.16")->register_abi());
  EXPECT_FALSE(GoVersion::parse("devel"));
}

}  // namespace
}  // namespace gputrace::gc
