#include "record_builder.h"

#include <random>

namespace gputrace {
namespace {

using test::kMs;
using test::kSec;
using test::TraceBuilder;

constexpr uint64_t kDev = 0xffff888001234000;

// Many records on a few timestamps (equal timestamps must keep arrival order).
TraceBuilder ordered_trace(size_t n) {
  TraceBuilder t;
  t.device(1, kDev, "0000:00:04.0");
  for (size_t i = 0; i < n; ++i) t.map(10 * kMs + (i / 3) * 100'000, kDev, 0x1000 * (i + 1), 4096);
  return t;
}

std::vector<std::pair<uint64_t, uint64_t>> released_order(const std::vector<Record>& records, EngineConfig cfg = {}) {
  Engine engine(cfg);
  std::vector<std::pair<uint64_t, uint64_t>> out;  // (ts, dma_addr or 0)
  engine.set_record_observer([&](const Record& r) {
    out.emplace_back(r.ts(), r.kind() == GT_EV_DMA_MAP ? r.as<gt_dma_event>().dma_addr : 0);
  });
  for (const Record& r : records) engine.push(r);
  engine.finish();
  EXPECT_EQ(engine.stats().records_processed, records.size());
  return out;
}

TEST(Engine, ShuffledWithinWindowGivesTheSortedOrder) {
  const auto trace = ordered_trace(3000);
  const auto records = trace.records();
  const auto sorted = released_order(records);
  ASSERT_EQ(sorted.size(), records.size());
  EXPECT_TRUE(std::is_sorted(sorted.begin(), sorted.end(),
                             [](const auto& a, const auto& b) { return a.first < b.first; }));

  // Displace records by up to 20 ms (less than the 50 ms window), keeping equal-ts order.
  std::mt19937 rng(7);
  std::vector<std::pair<uint64_t, size_t>> keyed;
  for (size_t i = 0; i < records.size(); ++i)
    keyed.emplace_back(records[i].ts() + std::uniform_int_distribution<uint64_t>(0, 20 * kMs)(rng), i);
  std::stable_sort(keyed.begin(), keyed.end());
  std::vector<Record> shuffled;
  for (auto& [_, i] : keyed) shuffled.push_back(records[i]);
  // The shuffle may reorder equal timestamps; compare against a stable sort of that input.
  std::vector<Record> expected_input = shuffled;
  std::stable_sort(expected_input.begin(), expected_input.end(),
                   [](const Record& a, const Record& b) { return a.ts() < b.ts(); });
  EXPECT_EQ(released_order(shuffled), released_order(expected_input));
}

// A device described after its first event (its description arrived past the reorder
// window): it still carries the sysfs facts recorded under its name (seen in the vm tier).
TEST(Engine, LateDeviceDescriptionKeepsItsSysfsFacts) {
  TraceBuilder t;
  t.facts(kMs, "0000:00:04.0", GT_IOMMU_STRICT, 4);
  t.map(100 * kMs, 0xdead00, 0x1000, 4096);
  t.device(100 * kMs + 1, 0xdead00, "0000:00:04.0", "gputrace_edu");
  Engine engine(EngineConfig{.reorder_window_ns = 0});  // process in arrival order
  t.feed(engine);
  auto index = engine.devices().find_name("0000:00:04.0");
  ASSERT_TRUE(index.has_value());
  EXPECT_STREQ(engine.devices().iommu_mode(*index), "strict");
  EXPECT_EQ(engine.devices().at(*index).driver, "gputrace_edu");
  EXPECT_EQ(engine.devices().at(*index).facts.iommu_group, 4);
}

TEST(Engine, EqualTimestampsKeepArrivalOrder) {
  TraceBuilder t;
  for (uint64_t a = 1; a <= 50; ++a) t.map(5 * kMs, kDev, a * 0x1000, 4096);
  const auto order = released_order(t.records());
  for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i].second, (i + 1) * 0x1000);
}

TEST(Engine, SameInputGivesSameFindings) {
  auto run = [] {
    TraceBuilder t;
    t.device(1, kDev, "0000:00:04.0").proc_info(2, 100, 50, "app");
    for (uint64_t i = 0; i < 200; ++i) t.map(kMs + i * kMs, kDev, 0x10000 + i * 0x1000, 4096);
    t.exit(300 * kMs, 100, 50, "app").map(3 * kSec, kDev, 0x1, 4096, {.pid = 5});
    Engine engine;
    t.feed(engine);
    std::vector<std::string> out;
    for (const auto& f : engine.findings()) out.push_back(std::string(f.kind_name()) + f.message + f.evidence.dump());
    return out;
  };
  const auto first = run();
  EXPECT_EQ(first.size(), 200u);
  EXPECT_EQ(first, run());
}

TEST(Engine, LateRecordsAreCountedAndStillProcessed) {
  TraceBuilder t;
  t.device(1, kDev, "0000:00:04.0").map(10 * kMs, kDev, 0x1000, 4096).map(500 * kMs, kDev, 0x2000, 4096);
  t.map(5 * kMs, kDev, 0x3000, 4096);    // the 10 ms record already went on: out of order
  t.map(20 * kMs, kDev, 0x5000, 4096);   // 480 ms behind the newest, but still in order
  t.map(480 * kMs, kDev, 0x4000, 4096);  // 20 ms older: inside the window, not late
  Engine engine;
  t.feed(engine);
  EXPECT_EQ(engine.stats().late_records, 1u);
  EXPECT_EQ(engine.stats().records_processed, 6u);
  EXPECT_EQ(engine.mappings().outstanding(), 5u);
}

TEST(Engine, AdvanceToReleasesWithoutNewInput) {
  TraceBuilder t;
  t.device(1, kDev, "0000:00:04.0").map(10 * kMs, kDev, 0x1000, 4096);
  Engine engine;
  size_t seen = 0;
  engine.set_record_observer([&](const Record&) { ++seen; });
  t.feed(engine, /*finish=*/false);
  EXPECT_EQ(seen, 0u);  // both records are inside the window of the newest
  engine.advance_to(40 * kMs);  // horizon would be before time 0: nothing is old enough
  EXPECT_EQ(seen, 0u);
  engine.advance_to(55 * kMs);  // horizon 5 ms: the device record (ts 1 ns) goes
  EXPECT_EQ(seen, 1u);
  engine.advance_to(61 * kMs);
  EXPECT_EQ(seen, 2u);
  engine.finish();
  EXPECT_EQ(seen, 2u);
}

TEST(Engine, OwnerExitIsJudgedLiveByAdvanceTo) {
  TraceBuilder t;
  t.device(1, kDev, "0000:00:04.0").proc_info(2, 100, 50, "app").map(10 * kMs, kDev, 0x1000, 4096);
  t.exit(20 * kMs, 100, 50, "app");
  Engine engine;
  t.feed(engine, false);
  engine.advance_to(1 * kSec);
  EXPECT_TRUE(engine.findings().empty());
  engine.advance_to(2 * kSec + 80 * kMs);  // grace ends at 2.02 s; horizon 2.03 s
  EXPECT_EQ(test::findings_of(engine, "dma_leak_owner_exit").size(), 1u);
}

// A child that never execs (a busybox applet, a renamed worker) keeps its parent's name
// until it exits; the name at exit is then its own. After an exec, the exec's name stands:
// the exit event is named by whichever thread left last.
TEST(Engine, AnExitNamesAProcessThatNeverExeced) {
  TraceBuilder t;
  t.fork(kMs, 100, 101, kMs, "init").exit(2 * kMs, 101, kMs, "dd");
  t.fork(3 * kMs, 100, 102, 3 * kMs, "init").exec(4 * kMs, 102, 3 * kMs, "python3", "/usr/bin/python3");
  t.exit(5 * kMs, 102, 3 * kMs, "pt_worker");
  Engine engine;
  t.feed(engine);
  ASSERT_NE(engine.processes().latest(101), nullptr);
  EXPECT_EQ(engine.processes().latest(101)->comm, "dd");
  EXPECT_EQ(engine.processes().latest(102)->comm, "python3");
}

TEST(Engine, LossCountersKeepTheLatestValue) {
  TraceBuilder t;
  t.loss(1 * kMs, "ring_full_bulk", 3).loss(2 * kMs, "ring_full_bulk", 9).loss(2 * kMs, "stack", 0);
  Engine engine;
  t.feed(engine);
  EXPECT_EQ(engine.reported_losses().at("ring_full_bulk"), 9u);
  EXPECT_EQ(engine.reported_losses().at("stack"), 0u);
}

TEST(Engine, InvalidStackRecordsAreRejected) {
  TraceBuilder t;
  gt_stack_event bad{};
  bad.stack_id = 3;
  bad.nr_frames = 4;  // claims 64 bytes of frames it does not carry
  bad.names_len = 0;
  t.add(bad, GT_EV_STACK, 5);
  t.stack(6, 4, {"dma_map_page_attrs", "nvme_queue_rq"});
  Engine engine;
  t.feed(engine);
  EXPECT_EQ(engine.stats().invalid_stack_records, 1u);
  EXPECT_EQ(engine.stacks().resolve(3), -1);
  ASSERT_GE(engine.stacks().resolve(4), 0);
  EXPECT_EQ(engine.stacks().format(engine.stacks().resolve(4)),
            (std::vector<std::string>{"dma_map_page_attrs+0x10", "nvme_queue_rq+0x11"}));
}

}  // namespace
}  // namespace gputrace
