// bpf tier: the kernel collectors on this machine's kernel. Needs root.
//  - every hook that this kernel offers a flavour for loads and attaches with it;
//  - raw_tp handlers driven with bpf_prog_test_run_opts go through the real ring buffer,
//    decoder and engine (no DMA ever fires here: there is no IOMMU);
//  - process events of a real child process.
#include "userspace/engine/engine.h"
#include "userspace/loader/flavour_choice.h"
#include "userspace/loader/kernel_tracer.h"
#include "userspace/ring/consumer.h"

extern "C" {
#include "bpf/dma.h"
#include "bpf/proc.h"
}

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

namespace gputrace {
namespace {

std::unique_ptr<KernelTracer> start_tracer(const Features& features, TraceConfig config = {}) {
  config.all_devices = true;
  auto t = KernelTracer::start(features, config);
  EXPECT_TRUE(t.has_value()) << (t ? "" : t.error().describe());
  return t ? std::move(*t) : nullptr;
}

TEST(KernelCollectors, EveryOfferedHookAttachesWithItsPreferredFlavour) {
  Features features = Features::probe();
  auto tracer = start_tracer(features);
  ASSERT_TRUE(tracer);
  for (const HookStatus& h : tracer->hooks()) {
    std::vector<std::string> notes;
    auto offered = offered_flavours(*h.spec, features, std::nullopt, notes);
    if (offered.empty()) {
      EXPECT_FALSE(h.attached()) << h.spec->id;
      EXPECT_FALSE(h.notes.empty()) << h.spec->id << " must say why it is not attached";
      continue;
    }
    ASSERT_TRUE(h.attached()) << h.spec->id << ": offered " << to_string(offered[0].programs->flavour);
    EXPECT_EQ(*h.flavour, offered[0].programs->flavour) << h.spec->id;
    EXPECT_EQ(h.target, offered[0].target) << h.spec->id;
  }
  // On this kernel kind the dma:* and sched tracepoints exist: those hooks must not be lost.
  for (const HookStatus& h : tracer->hooks()) {
    if (h.spec->id.starts_with("dma_") || h.spec->id.starts_with("proc_")) {
      EXPECT_TRUE(h.attached() || !features.has_tracepoint(h.spec->tracepoints.front())) << h.spec->id;
    }
  }
}

// Collects what the rings deliver, through the real decoder, into a real engine.
struct Pipeline {
  Engine engine;
  std::vector<std::vector<std::byte>> raw;
  std::unique_ptr<RingConsumer> consumer;

  explicit Pipeline(const KernelTracer& t) {
    auto c = RingConsumer::create(t.maps().bulk_ring_fd(), t.maps().critical_ring_fd(), [this](const Record& r) {
      raw.emplace_back(r.bytes.begin(), r.bytes.end());
      engine.push(r);
    });
    EXPECT_TRUE(c.has_value());
    consumer = std::move(*c);
  }
  template <class T>
  std::vector<T> of_kind(uint16_t kind) const {
    std::vector<T> out;
    for (const auto& b : raw) {
      gt_event_header h;
      std::memcpy(&h, b.data(), sizeof(h));
      if (h.kind != kind) continue;
      T e;
      std::memcpy(&e, b.data(), sizeof(T));
      out.push_back(e);
    }
    return out;
  }
};

void run_raw_tp(bpf_program* prog, std::vector<uint64_t> args) {
  ASSERT_NE(prog, nullptr);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args.data(), .ctx_size_in = static_cast<__u32>(args.size() * 8));
  ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0) << strerror(errno);
}

TEST(KernelCollectors, RawTpDmaHandlersFeedTheTracker) {
  Features features = Features::probe();
  auto tracer = start_tracer(features, TraceConfig{.prefer = Flavour::RawTp});
  ASSERT_TRUE(tracer);
  Pipeline p(*tracer);
  ASSERT_TRUE(p.consumer->drain().has_value());
  p.raw.clear();
  const char* obj = "dma";
  // dma_map_phys(dev, phys, dma_addr, size, dir, attrs); dev NULL: --all-devices keeps it
  for (uint64_t i = 0; i < 3; ++i)
    run_raw_tp(tracer->program(obj, "dma_map_page_raw_tp"), {0, 0x100000 + i * 4096, 0xfff00000 + i * 4096, 4096, 1, 0});
  run_raw_tp(tracer->program(obj, "dma_unmap_page_raw_tp"), {0, 0xfff00000, 4096, 1, 0});
  // dma_alloc(dev, virt, dma_addr, size, dir, gfp, attrs) and dma_free(dev, virt, dma_addr, size, dir, attrs)
  run_raw_tp(tracer->program(obj, "dma_alloc_raw_tp"), {0, 0xffff888000000000, 0xffe00000, 8192, 0, 0, 0});
  run_raw_tp(tracer->program(obj, "dma_free_raw_tp"), {0, 0xffff888000000000, 0xffe00000, 8192, 0, 0});
  ASSERT_TRUE(p.consumer->drain().has_value());
  p.engine.finish();

  auto maps = p.of_kind<gt_dma_event>(GT_EV_DMA_MAP);
  auto unmaps = p.of_kind<gt_dma_event>(GT_EV_DMA_UNMAP);
  ASSERT_EQ(maps.size(), 4u);
  ASSERT_EQ(unmaps.size(), 2u);
  EXPECT_EQ(maps[1].dma_addr, 0xfff01000u);
  EXPECT_EQ(maps[1].phys_addr, 0x101000u);
  EXPECT_EQ(maps[1].size, 4096u);
  EXPECT_EQ(maps[1].dir, 1);
  EXPECT_EQ(maps[1].api, GT_DMA_PAGE);
  EXPECT_EQ(maps[1].source, GT_SRC_RAW_TP);
  EXPECT_EQ(maps[1].hdr.pid, static_cast<uint32_t>(getpid()));
  EXPECT_GE(maps[1].stack_id, 0) << "the mapping site's stack is captured";
  EXPECT_EQ(maps[3].api, GT_DMA_COHERENT);
  EXPECT_EQ(unmaps[1].api, GT_DMA_COHERENT);
  // The tracker: two page mappings outstanding, the coherent one freed, no finding.
  EXPECT_EQ(p.engine.mappings().outstanding(), 2u);
  EXPECT_TRUE(p.engine.findings().empty());
}

TEST(KernelCollectors, ProcessEventsOfARealChild) {
  Features features = Features::probe();
  auto tracer = start_tracer(features);
  ASSERT_TRUE(tracer);
  Pipeline p(*tracer);
  pid_t child = fork();
  if (child == 0) {
    execl("/bin/sh", "sh", "-c", "exit 7", nullptr);
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  for (int i = 0; i < 20 && p.of_kind<gt_exit_event>(GT_EV_PROC_EXIT).empty(); ++i)
    ASSERT_TRUE(p.consumer->poll(std::chrono::milliseconds(50)).has_value());

  bool forked = false, execed = false, exited = false;
  for (const auto& f : p.of_kind<gt_fork_event>(GT_EV_PROC_FORK))
    forked |= f.child_pid == static_cast<uint32_t>(child) && f.hdr.pid == static_cast<uint32_t>(getpid());
  for (const auto& e : p.of_kind<gt_proc_event>(GT_EV_PROC_EXEC))
    execed |= e.hdr.pid == static_cast<uint32_t>(child) && std::string(e.filename) == "/bin/sh" &&
              e.ppid == static_cast<uint32_t>(getpid());
  for (const auto& e : p.of_kind<gt_exit_event>(GT_EV_PROC_EXIT))
    exited |= e.hdr.pid == static_cast<uint32_t>(child) && (e.exit_code >> 8) == 7;
  EXPECT_TRUE(forked);
  EXPECT_TRUE(execed);
  EXPECT_TRUE(exited);
}

TEST(KernelCollectors, DoctorRunsAndIsTruthful) {
  FILE* f = popen(GPUTRACE_BINARY " doctor 2>&1", "r");
  ASSERT_NE(f, nullptr);
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), f)) out.append(buf, n);
  ASSERT_EQ(pclose(f), 0) << out;
  Features features = Features::probe();
  EXPECT_NE(out.find("kernel hooks:"), std::string::npos);
  if (!features.kprobes()) {
    EXPECT_NE(out.find("CONFIG_KPROBES off"), std::string::npos) << out;
  }
  if (!features.trampolines()) {
    EXPECT_NE(out.find("refuses BPF trampolines"), std::string::npos) << out;
  }
  if (features.has_tracepoint("dma_map_phys")) {
    EXPECT_NE(out.find("tp_btf  dma_map_phys"), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace gputrace
