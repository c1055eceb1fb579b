// Correlation scenarios: real kernel and GC captures (tests/fixtures/scenarios/, recorded by
// the vm tier's guests and on this host) merged with SYNTHETIC GPU records — there was no
// GPU where they were recorded. Each scenario writes its capture (labelled: the host name
// says "synthetic GPU records") to ./scenarios/, replays it as `gputrace report` does, checks
// the finding and its cause, and diffs the whole text report against
// tests/golden/scenarios/NAME.txt. GPU records are written where CUPTI batches would arrive:
// 100-600 ms late and out of order; the same records in time order must give the same report.
//
// Regenerate the golden files after an intended change:
//   GPUTRACE_UPDATE_GOLDEN=1 ./unit_tests --gtest_filter='Scenario*'
#include "golden.h"
#include "record_builder.h"

#include "userspace/capture/capture.h"
#include "userspace/decode/kinds.h"
#include "userspace/pipeline/replay.h"
#include "exporters/report/report.h"

#include <filesystem>
#include <functional>
#include <random>

namespace gputrace {
namespace {

using test::kMs;
using test::Link;
using test::TraceBuilder;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint32_t kServer = 4242;  // the synthetic served process in guest scenarios
constexpr Link kGen4x16{.speed_mts = 16000, .width = 16, .max_speed_mts = 16000, .max_width = 16};

std::string fixture(const std::string& name) {
  return std::string(GPUTRACE_SOURCE_DIR) + "/tests/fixtures/scenarios/" + name;
}

// The base capture, every record copied out.
struct Base {
  CaptureHostInfo host;
  std::vector<std::vector<std::byte>> records;

  template <class Fn>
  void each(uint16_t kind, Fn fn) const {
    for (const auto& bytes : records) {
      gt_event_header h;
      std::memcpy(&h, bytes.data(), sizeof(h));
      if (h.kind != kind) continue;
      Record r{h, bytes};
      fn(r);
    }
  }
  uint64_t first_ts() const {
    uint64_t t = UINT64_MAX;
    for (const auto& b : records) t = std::min<uint64_t>(t, reinterpret_cast<const gt_event_header*>(b.data())->ts_ns);
    return t;
  }
  // dev pointer and name of the first device bound to driver
  std::pair<uint64_t, std::string> device_of(const std::string& driver) const {
    std::pair<uint64_t, std::string> out;
    each(GT_EV_DEVICE, [&](const Record& r) {
      const auto e = r.as<gt_device_event>();
      if (out.first == 0 && fixed_string(e.driver, sizeof(e.driver)) == driver) out = {e.dev, fixed_string(e.name, sizeof(e.name))};
    });
    return out;
  }
};

Base load(const std::string& name) {
  auto reader = CaptureReader::open(fixture(name));
  EXPECT_TRUE(reader) << reader.error().describe();
  Base base{(*reader)->host(), {}};
  auto summary = (*reader)->for_each([&](const Record& r) { base.records.emplace_back(r.bytes.begin(), r.bytes.end()); });
  EXPECT_TRUE(summary);
  return base;
}

// Start of the window of `width` holding the most of `times` (sorted), and how many.
std::pair<uint64_t, size_t> densest(const std::vector<uint64_t>& times, uint64_t width) {
  std::pair<uint64_t, size_t> best{0, 0};
  for (size_t i = 0, j = 0; i < times.size(); ++i) {
    while (j < times.size() && times[j] < times[i] + width) ++j;
    if (j - i > best.second) best = {times[i], j - i};
  }
  return best;
}

// The start of the longest stretch without any of `times` after `after`.
uint64_t quietest(std::vector<uint64_t> times, uint64_t after) {
  std::sort(times.begin(), times.end());
  uint64_t best = after, best_len = 0, prev = after;
  for (uint64_t t : times) {
    if (t <= prev) continue;
    if (t - prev > best_len) best = prev, best_len = t - prev;
    prev = t;
  }
  return best + 1 * kMs;
}

// Ten 64 MiB pinned host-to-device copies at 25 GB/s, `gap` apart, the last ending at `before`.
void baseline_copies(TraceBuilder& t, uint32_t pid, uint64_t before, uint64_t gap = 5 * kMs) {
  const uint64_t dur = 64 * kMiB * 1'000'000'000 / 25'000'000'000ull;
  for (int i = 0; i < 10; ++i) {
    const uint64_t start = before - (10 - i) * (dur + gap) + gap;
    t.memcpy(pid, start, start + dur, 64 * kMiB);
  }
}

// Writes base + synthetic records: GPU records where their batch would arrive (late_delivery)
// or at their own time, everything else at its time.
std::string write_scenario(const std::string& name, const Base& base, const TraceBuilder& synthetic, bool late_delivery) {
  std::vector<std::pair<uint64_t, std::vector<std::byte>>> out;
  uint64_t clock = 0;  // base records keep their file order
  for (const auto& b : base.records) {
    clock = std::max<uint64_t>(clock, reinterpret_cast<const gt_event_header*>(b.data())->ts_ns);
    out.emplace_back(clock, b);
  }
  std::mt19937_64 rng(42);
  for (const Record& r : synthetic.records()) {
    const uint64_t delay = late_delivery && is_gpu_activity_kind(r.header.kind) ? 100 * kMs + rng() % (500 * kMs) : 0;
    out.emplace_back(r.ts() + delay, std::vector<std::byte>(r.bytes.begin(), r.bytes.end()));
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  std::filesystem::create_directories("scenarios");
  const std::string path = "scenarios/" + name + (late_delivery ? "" : ".in-order") + ".gtrace";
  std::filesystem::remove(path);
  CaptureHostInfo host = base.host;
  host.hostname = "synthetic GPU records on " + (host.hostname.empty() ? std::string("(none)") : host.hostname);
  auto writer = CaptureWriter::create(path, host);
  EXPECT_TRUE(writer) << writer.error().describe();
  for (const auto& [at, bytes] : out) {
    Record r;
    std::memcpy(&r.header, bytes.data(), sizeof(r.header));
    r.bytes = bytes;
    EXPECT_TRUE((*writer)->append(r));
  }
  EXPECT_TRUE((*writer)->close());
  return path;
}

struct Outcome {
  std::string text;
  nlohmann::ordered_json model;
  std::vector<Finding> findings;
};

Outcome replay(const std::string& path) {
  auto r = replay_capture(path);
  EXPECT_TRUE(r) << r.error().describe();
  const HostSnapshot s = (*r)->snapshot();
  Outcome o{render_text_report(s), nlohmann::ordered_json::parse(render_report_json(s)), (*r)->engine().findings()};
  o.model.erase("source");
  return o;
}


// Runs a scenario both ways, diffs the report with its golden file, returns its findings.
std::vector<Finding> run_scenario(const std::string& name, const Base& base, const TraceBuilder& synthetic) {
  const Outcome late = replay(write_scenario(name, base, synthetic, true));
  const Outcome in_order = replay(write_scenario(name, base, synthetic, false));
  // The same report but for how many records the reorder buffers held at once
  auto comparable = [](nlohmann::ordered_json m) {
    m["records"].erase("max_held");
    return m;
  };
  EXPECT_EQ(comparable(late.model), comparable(in_order.model)) << "late GPU batches changed the report";
  std::string text = late.text;
  // the path of the build directory is not part of the golden file
  text.replace(text.find("source "), text.find('\n') - text.find("source "), "source scenarios/" + name + ".gtrace");
  test::expect_golden(text, "scenarios/" + name + ".txt");
  return late.findings;
}

std::vector<Finding> of_kind(const std::vector<Finding>& all, const std::string& kind) {
  std::vector<Finding> out;
  for (const Finding& f : all)
    if (f.kind_name() == kind) out.push_back(f);
  return out;
}

// A served process and a GPU at 0000:17:00.0 (both synthetic) on the guest.
TraceBuilder synthetic_server(uint64_t t0, uint8_t iommu_mode, Link link = kGen4x16) {
  TraceBuilder t;
  t.facts(t0, "0000:17:00.0", iommu_mode, 9, link);
  t.proc_info(t0, kServer, t0, "llm-server");
  t.gpu_device(t0, kServer, 0, 0x17);
  return t;
}

TEST(Scenario, StrictModeUnmapStormDuringACopy) {
  const Base base = load("guest-6.12-strict.gtrace");
  const auto [nvme, nvme_name] = base.device_of("nvme");
  std::vector<uint64_t> unmaps;
  base.each(GT_EV_DMA_UNMAP, [&](const Record& r) {
    if (r.as<gt_dma_event>().dev == nvme) unmaps.push_back(r.ts());
  });
  std::sort(unmaps.begin(), unmaps.end());
  const auto [storm, count] = densest(unmaps, 20 * kMs);
  ASSERT_GE(count, 40u) << "the guest's NVMe burst is too thin for a storm";

  TraceBuilder t = synthetic_server(base.first_ts(), GT_IOMMU_STRICT);
  baseline_copies(t, kServer, storm - 5 * kMs);
  t.memcpy(kServer, storm, storm + 20 * kMs, 64 * kMiB);  // 3.4 GB/s through the storm
  const auto stalls = of_kind(run_scenario("strict_unmap_storm", base, t), "pcie_stall");
  ASSERT_EQ(stalls.size(), 1u);
  EXPECT_EQ(stalls[0].evidence["cause"], "iommu_unmap_storm");
  EXPECT_EQ(stalls[0].evidence["cause_evidence"]["devices"][0]["device"], nvme_name);
  EXPECT_EQ(stalls[0].device, "0000:17:00.0");
}

TEST(Scenario, SwiotlbBouncing) {
  const Base base = load("guest-6.12-swiotlb.gtrace");
  const auto [nvme, nvme_name] = base.device_of("nvme");
  std::vector<uint64_t> bounces;
  base.each(GT_EV_SWIOTLB_BOUNCE, [&](const Record& r) {
    if (r.as<gt_swiotlb_event>().dev == nvme) bounces.push_back(r.ts());
  });
  std::sort(bounces.begin(), bounces.end());
  const auto [burst, count] = densest(bounces, 20 * kMs);
  ASSERT_GT(count, 0u);

  // The GPU records are bound to the NVMe controller, whose DMA really bounced (swiotlb=force).
  TraceBuilder t;
  const uint64_t t0 = base.first_ts();
  t.proc_info(t0, kServer, t0, "llm-server");
  unsigned bus = 0, slot = 0;
  std::sscanf(nvme_name.c_str(), "%*x:%x:%x", &bus, &slot);
  gt_gpu_device_event d{};
  d.pci_bus = bus;
  d.pci_device = slot;
  std::strcpy(d.name, "synthetic GPU bound to the bouncing NVMe");
  t.add(d, GT_EV_GPU_DEVICE, t0, kServer);
  baseline_copies(t, kServer, burst - 5 * kMs);
  t.memcpy(kServer, burst, burst + 20 * kMs, 64 * kMiB);
  const auto stalls = of_kind(run_scenario("swiotlb_bounce", base, t), "pcie_stall");
  ASSERT_EQ(stalls.size(), 1u);
  EXPECT_EQ(stalls[0].evidence["cause"], "swiotlb_bounce");
  EXPECT_EQ(stalls[0].evidence["cause_evidence"]["bounces"], count);
}

// n back-to-back (2 ms apart) 64 MiB host-to-device copies at gb_per_s from start.
void steady_copies(TraceBuilder& t, uint64_t start, int n, double gb_per_s, bool pageable = false) {
  const auto dur = static_cast<uint64_t>(static_cast<double>(64 * kMiB) / gb_per_s);
  for (int i = 0; i < n; ++i) {
    const uint64_t at = start + i * (dur + 2 * kMs);
    t.memcpy(kServer, at, at + dur, 64 * kMiB, GT_GPU_COPY_HTOD, pageable);
  }
}

// Quiet guest time (no DMA at all) for the standing conditions, so nothing transient overlaps.
uint64_t quiet_start(const Base& base) {
  std::vector<uint64_t> dma;
  for (uint16_t kind : {GT_EV_DMA_MAP, GT_EV_DMA_UNMAP, GT_EV_SWIOTLB_BOUNCE}) base.each(kind, [&](const Record& r) { dma.push_back(r.ts()); });
  return quietest(dma, base.first_ts() + 300 * kMs);
}

TEST(Scenario, DowntrainedLink) {
  const Base base = load("guest-6.12-strict.gtrace");
  const uint64_t quiet = quiet_start(base);
  // 2.5 GT/s x16 of 16 GT/s x16; the copies run at what the narrow link gives (3.8 GB/s)
  TraceBuilder t = synthetic_server(base.first_ts(), GT_IOMMU_STRICT,
                                    {.speed_mts = 2500, .width = 16, .max_speed_mts = 16000, .max_width = 16});
  steady_copies(t, quiet, 10, 3.8);
  const auto stalls = of_kind(run_scenario("downtrained_link", base, t), "pcie_stall");
  ASSERT_EQ(stalls.size(), 1u);
  EXPECT_EQ(stalls[0].evidence["cause"], "link_downtrained");
  EXPECT_EQ(stalls[0].evidence["copies"], 10u);
}

TEST(Scenario, PageableMemory) {
  const Base base = load("guest-6.12-strict.gtrace");
  const uint64_t quiet = quiet_start(base);
  TraceBuilder t = synthetic_server(base.first_ts(), GT_IOMMU_STRICT);
  steady_copies(t, quiet, 10, 6, /*pageable=*/true);  // 6 GB/s: staged copies
  const auto stalls = of_kind(run_scenario("pageable_memory", base, t), "pcie_stall");
  ASSERT_EQ(stalls.size(), 1u);
  EXPECT_EQ(stalls[0].evidence["cause"], "pageable_memory");
}

// The CPython process recorded on this host, and two of its longest pauses, 300 ms apart.
struct PythonPauses {
  uint32_t pid = 0;
  std::vector<std::pair<uint64_t, uint64_t>> longest;  // (begin, end), longest first
};

PythonPauses python_pauses(const Base& base) {
  PythonPauses out;
  std::vector<std::pair<uint64_t, uint64_t>> all;
  base.each(GT_EV_GC_PAUSE, [&](const Record& r) {
    const auto e = r.as<gt_gc_pause_event>();
    out.pid = e.hdr.pid;
    all.emplace_back(e.begin_ns, e.begin_ns + e.duration_ns);
  });
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.second - a.first > b.second - b.first; });
  for (const auto& p : all) {
    if (out.longest.empty() || (p.first > out.longest[0].second + 300 * kMs || p.second + 300 * kMs < out.longest[0].first))
      out.longest.push_back(p);
    if (out.longest.size() == 2) break;
  }
  return out;
}

TEST(Scenario, GcPauseOfTheIssuingProcess) {
  const Base base = load("host-python-gc.gtrace");
  const PythonPauses py = python_pauses(base);
  ASSERT_EQ(py.longest.size(), 2u);
  ASSERT_GE(py.longest[1].second - py.longest[1].first, 2 * kMs) << "the recorded full collections are too short";
  TraceBuilder t;
  const uint64_t t0 = base.first_ts();
  t.facts(t0, "0000:17:00.0", GT_IOMMU_LAZY, 9, kGen4x16);
  t.gpu_device(t0, py.pid, 0, 0x17);
  // A pageable copy (the CPU stages it) the longest pause stalls ...
  const auto [b0, e0] = py.longest[0];
  baseline_copies(t, py.pid, b0 - kMs, 0);
  t.memcpy(py.pid, b0 - kMs, e0 + kMs, 64 * kMiB, GT_GPU_COPY_HTOD, /*pageable=*/true);
  // ... and kernels back to back until the second pause, the next one launched after it.
  const auto [b1, e1] = py.longest[1];
  for (uint64_t ts = b1 - 10 * kMs; ts + kMs <= b1; ts += kMs) t.gpu_kernel(py.pid, ts, ts + kMs);
  t.gpu_kernel(py.pid, e1 + 200'000, e1 + 1'200'000);
  const auto findings = run_scenario("gc_pause", base, t);
  const auto stalls = of_kind(findings, "pcie_stall");
  ASSERT_EQ(stalls.size(), 1u);
  EXPECT_EQ(stalls[0].evidence["cause"], "gc_pause");
  EXPECT_EQ(stalls[0].evidence["other_causes"], nlohmann::ordered_json::array({"pageable_memory"}));
  const auto idle = of_kind(findings, "gpu_idle_gc");
  ASSERT_EQ(idle.size(), 1u);
  EXPECT_EQ(idle[0].pid, py.pid);
  EXPECT_EQ(idle[0].evidence["pauses"], 1u);
  EXPECT_EQ(idle[0].evidence["idle_ns"], e1 - b1);
}

TEST(Scenario, CleanRunHasNoStallAndNoIdle) {
  const Base base = load("host-python-gc.gtrace");
  const PythonPauses py = python_pauses(base);
  TraceBuilder t;
  const uint64_t t0 = base.first_ts();
  t.facts(t0, "0000:17:00.0", GT_IOMMU_LAZY, 9, kGen4x16);
  t.gpu_device(t0, py.pid, 0, 0x17);
  // the GPU never waits: copies at 25 GB/s and kernels back to back through the GC pauses
  baseline_copies(t, py.pid, t0 + 500 * kMs, 0);
  for (uint64_t ts = t0 + 500 * kMs; ts < t0 + 1500 * kMs; ts += kMs) t.gpu_kernel(py.pid, ts, ts + kMs);
  const auto findings = run_scenario("clean", base, t);
  EXPECT_TRUE(of_kind(findings, "pcie_stall").empty());
  EXPECT_TRUE(of_kind(findings, "gpu_idle_gc").empty());
}

}  // namespace
}  // namespace gputrace
