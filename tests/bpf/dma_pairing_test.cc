// bpf tier: DMA mappings paired in the kernel (bpf/dma_table.bpf.h, session/dma_pairing.h).
// The real raw_tp handlers, driven with bpf_prog_test_run_opts (no DMA fires on this
// machine), the real sweep, ring buffer, decoder and engine: short-lived pairs never cross
// the ring, long-lived ones are promoted, rule (c) still holds, the counts are exact.
#include "userspace/engine/engine.h"
#include "userspace/session/dma_pairing.h"
#include "userspace/loader/kernel_tracer.h"
#include "userspace/ring/consumer.h"

extern "C" {
#include "bpf/dma.h"
}

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace gputrace {
namespace {

// Never dereferenced by a handler once described (--all-devices keeps it); vmalloc space,
// so the description's reads of it fail cleanly instead of reading someone's memory.
constexpr uint64_t kDev = 0xffffc90000dead00;

struct Pairing : ::testing::Test {
  std::unique_ptr<KernelTracer> tracer;
  std::optional<DmaPairing> pairing;
  Engine engine;
  std::vector<uint16_t> kinds;  // of every record, in arrival order
  std::vector<gt_dma_mapping_event> shipped;  // GT_EV_DMA_OUTSTANDING and GT_EV_DMA_CLOSED
  std::unique_ptr<RingConsumer> consumer;

  void SetUp() override {
    auto t = KernelTracer::start(Features::probe(), TraceConfig{.all_devices = true, .prefer = Flavour::RawTp});
    ASSERT_TRUE(t.has_value()) << t.error().describe();
    tracer = std::move(*t);
    // promote at once: the sweep decides, not the clock
    auto p = DmaPairing::start(tracer->maps(), PairingConfig{.promote_after = std::chrono::milliseconds(0)});
    ASSERT_TRUE(p.has_value()) << p.error().describe();
    pairing.emplace(std::move(*p));
    auto c = RingConsumer::create(tracer->maps().bulk_ring_fd(), tracer->maps().critical_ring_fd(),
                                  [this](const Record& r) {
                                    kinds.push_back(r.kind());
                                    if (r.kind() == GT_EV_DMA_OUTSTANDING || r.kind() == GT_EV_DMA_CLOSED)
                                      shipped.push_back(r.as<gt_dma_mapping_event>());
                                    engine.push(r);
                                  });
    ASSERT_TRUE(c.has_value());
    consumer = std::move(*c);
  }
  void run(const char* program, std::vector<uint64_t> args) {
    bpf_program* prog = tracer->program("dma", program);
    ASSERT_NE(prog, nullptr) << program;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args.data(), .ctx_size_in = static_cast<__u32>(args.size() * 8));
    ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0) << strerror(errno);
  }
  // dma_map_phys(dev, phys, dma_addr, size, dir, attrs) and dma_unmap_phys(dev, dma_addr, size, dir, attrs)
  void map(uint64_t addr, uint64_t size = 4096) { run("dma_map_page_raw_tp", {kDev, 0x100000, addr, size, 1, 0}); }
  void unmap(uint64_t addr, uint64_t size = 4096) { run("dma_unmap_page_raw_tp", {kDev, addr, size, 1, 0}); }
  size_t count(uint16_t kind) const { return std::count(kinds.begin(), kinds.end(), kind); }
  void drain() { ASSERT_TRUE(consumer->drain().has_value()); }
  void feed_counts() {
    auto counts = pairing->counts(monotonic_ns());
    ASSERT_TRUE(counts.has_value()) << counts.error().describe();
    for (const auto& c : *counts) engine.push(c.view());
  }
  std::vector<Finding> findings(std::string_view kind) const {
    std::vector<Finding> out;
    for (const auto& f : engine.findings())
      if (f.kind_name() == kind) out.push_back(f);
    return out;
  }
  static uint64_t monotonic_ns() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1'000'000'000ull + t.tv_nsec;
  }
};

TEST_F(Pairing, ShortLivedPairsStayInTheKernel) {
  for (uint64_t i = 0; i < 100; ++i) {
    map(0xfff00000 + i * 4096);
    unmap(0xfff00000 + i * 4096);
  }
  drain();
  EXPECT_EQ(count(GT_EV_DEVICE), 1u);  // described once
  EXPECT_EQ(count(GT_EV_DMA_MAP) + count(GT_EV_DMA_UNMAP) + count(GT_EV_DMA_OUTSTANDING) +
                count(GT_EV_DMA_RELEASED) + count(GT_EV_DMA_CLOSED),
            0u);
  feed_counts();
  engine.finish();
  const uint32_t dev = *engine.devices().find_key(kDev);
  const DeviceDmaStats& s = *engine.mappings().device_stats(dev);
  EXPECT_EQ(s.by_api[0].maps, 100u);
  EXPECT_EQ(s.by_api[0].unmaps, 100u);
  EXPECT_EQ(s.by_api[0].map_bytes, 100u * 4096);
  EXPECT_TRUE(engine.findings().empty());
}

TEST_F(Pairing, LongLivedMappingsArePromotedAndTheirUnmapsShipped) {
  map(0xfe000000);
  auto swept = pairing->sweep();
  ASSERT_TRUE(swept.has_value());
  EXPECT_EQ(swept->promoted, 1u);
  unmap(0xfe000000);
  drain();
  EXPECT_EQ(count(GT_EV_DMA_OUTSTANDING), 1u);
  EXPECT_EQ(count(GT_EV_DMA_RELEASED), 1u);
  feed_counts();
  engine.finish();
  EXPECT_EQ(engine.mappings().outstanding(), 0u);
  EXPECT_TRUE(engine.findings().empty());
}

TEST_F(Pairing, DoubleUnmapAndMismatchStillFound) {
  map(0xfd000000);
  unmap(0xfd000000);
  unmap(0xfd000000);  // the tombstone makes it a double unmap
  map(0xfd100000, 4096);
  unmap(0xfd100000, 8192);  // size mismatch
  drain();
  EXPECT_EQ(count(GT_EV_DMA_CLOSED), 1u);
  EXPECT_EQ(count(GT_EV_DMA_OUTSTANDING), 1u);
  EXPECT_EQ(count(GT_EV_DMA_RELEASED), 2u);
  feed_counts();
  engine.finish();
  const auto unmatched = findings("dma_unmap_unmatched");
  ASSERT_EQ(unmatched.size(), 2u);
  EXPECT_EQ(unmatched[0].evidence["reason"], "double_unmap");
  EXPECT_EQ(unmatched[1].evidence["reason"], "mismatch");
  EXPECT_EQ(unmatched[0].evidence["owner"]["pid"], static_cast<uint32_t>(getpid()));
  ASSERT_EQ(shipped.size(), 2u);
  EXPECT_GE(shipped[0].stack_id, 0) << "the site's stack travels with the closed pair";
  EXPECT_EQ(shipped[0].stack_id, shipped[1].stack_id) << "one site, one stack";
  EXPECT_EQ(shipped[1].reason, GT_SHIP_MISMATCH);
}

TEST_F(Pairing, FlushShipsWhatIsLeftAndDuplicatesGoToUserspace) {
  map(0xfc000000);
  map(0xfc000000);  // the same address again while mapped (no IOMMU)
  map(0xfc100000);
  auto flushed = pairing->flush([this] { drain(); });
  ASSERT_TRUE(flushed.has_value());
  drain();
  EXPECT_EQ(count(GT_EV_DMA_OUTSTANDING), 3u);
  feed_counts();
  engine.finish();
  const uint32_t dev = *engine.devices().find_key(kDev);
  EXPECT_EQ(engine.mappings().device_stats(dev)->duplicate_maps, 1u);
  EXPECT_EQ(engine.mappings().outstanding(), 3u);
}

}  // namespace
}  // namespace gputrace
