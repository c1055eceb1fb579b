// TraceBuilder: builds wire records for tests, one helper per event kind, and feeds them
// to an Engine through the real decoder (so every record is one the decoder accepts).
#pragma once

extern "C" {
#include "bpf/dma.h"
#include "bpf/gc.h"
#include "bpf/gpu.h"
#include "bpf/host.h"
#include "bpf/iommu.h"
#include "bpf/pcie.h"
#include "bpf/proc.h"
}

#include "userspace/decode/decoder.h"
#include "userspace/engine/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace gputrace::test {

struct MapOpts {
  uint8_t api = GT_DMA_PAGE;
  uint8_t dir = 1;  // DMA_TO_DEVICE
  uint32_t pid = 100;
  const char* comm = "app";
  uint8_t context = 0;
  int32_t stack_id = -1;
};

// PCIe link and class of a device's sysfs facts (the default: a GPU, downtrained to half speed).
struct Link {
  uint32_t speed_mts = 16000, width = 16, max_speed_mts = 32000, max_width = 16;
  uint32_t pci_class = 0x030200;  // 3D controller
};

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;

class TraceBuilder {
 public:
  template <class T>
  TraceBuilder& add(T e, uint16_t kind, uint64_t ts, uint32_t pid = 0, std::vector<std::byte> tail = {}) {
    e.hdr.kind = kind;
    e.hdr.ts_ns = ts;
    e.hdr.pid = e.hdr.tid = pid;
    std::vector<std::byte> bytes(sizeof(T));
    bytes.insert(bytes.end(), tail.begin(), tail.end());
    bytes.resize((bytes.size() + 7) & ~size_t{7});
    e.hdr.size = static_cast<uint32_t>(bytes.size());
    std::memcpy(bytes.data(), &e, sizeof(T));
    records_.push_back(std::move(bytes));
    return *this;
  }

  TraceBuilder& device(uint64_t ts, uint64_t dev, const char* name, const char* driver = "gpu_drv") {
    gt_device_event e{};
    e.dev = dev;
    copy(e.name, name);
    copy(e.driver, driver);
    copy(e.bus, "pci");
    e.pci_class = 0x030200;
    e.vendor = 0x10de;
    e.device = 0x2330;
    e.traced = 1;
    return add(e, GT_EV_DEVICE, ts);
  }
  TraceBuilder& facts(uint64_t ts, const char* name, uint8_t mode, int32_t group = 7, Link link = {}) {
    gt_device_facts_event e{};
    copy(e.name, name);
    copy(e.driver, "gpu_drv");
    e.pci_class = link.pci_class;
    e.vendor = 0x10de;
    e.device = 0x2330;
    e.iommu_group = group;
    e.iommu_mode = mode;
    e.link_width = static_cast<uint8_t>(link.width);
    e.max_link_width = static_cast<uint8_t>(link.max_width);
    e.link_speed_mts = link.speed_mts;
    e.max_link_speed_mts = link.max_speed_mts;
    return add(e, GT_EV_DEVICE_FACTS, ts);
  }
  TraceBuilder& proc_info(uint64_t ts, uint32_t pid, uint64_t start, const char* comm, const char* exe = "") {
    return add(proc_event(start, comm, exe), GT_EV_PROC_INFO, ts, pid);
  }
  TraceBuilder& exec(uint64_t ts, uint32_t pid, uint64_t start, const char* comm, const char* exe) {
    return add(proc_event(start, comm, exe), GT_EV_PROC_EXEC, ts, pid);
  }
  TraceBuilder& fork(uint64_t ts, uint32_t parent, uint32_t child, uint64_t child_start, const char* comm) {
    gt_fork_event e{};
    e.child_pid = child;
    e.child_start_ns = child_start;
    copy(e.comm, comm);
    return add(e, GT_EV_PROC_FORK, ts, parent);
  }
  TraceBuilder& exit(uint64_t ts, uint32_t pid, uint64_t start, const char* comm) {
    gt_exit_event e{};
    e.start_ns = start;
    copy(e.comm, comm);
    return add(e, GT_EV_PROC_EXIT, ts, pid);
  }
  TraceBuilder& map(uint64_t ts, uint64_t dev, uint64_t addr, uint64_t size, MapOpts o = {}) {
    return add(dma_event(dev, addr, size, o), GT_EV_DMA_MAP, ts, o.pid);
  }
  TraceBuilder& unmap(uint64_t ts, uint64_t dev, uint64_t addr, uint64_t size, MapOpts o = {}) {
    o.stack_id = -1;
    return add(dma_event(dev, addr, size, o), GT_EV_DMA_UNMAP, ts, o.pid);
  }
  // The kernel's pairing (bpf/dma_table.bpf.h): a mapping shipped at ts, made at map_ts.
  TraceBuilder& outstanding(uint64_t ts, uint64_t map_ts, uint64_t dev, uint64_t addr, uint64_t size, MapOpts o = {},
                            uint8_t reason = GT_SHIP_PROMOTED) {
    gt_dma_mapping_event e = mapping_event(dev, addr, size, map_ts, o);
    e.reason = reason;
    return add(e, GT_EV_DMA_OUTSTANDING, ts, o.pid);
  }
  TraceBuilder& released(uint64_t ts, uint64_t dev, uint64_t addr, uint64_t size, MapOpts o = {}) {
    o.stack_id = -1;
    return add(dma_event(dev, addr, size, o), GT_EV_DMA_RELEASED, ts, o.pid);
  }
  TraceBuilder& closed(uint64_t ts, uint64_t map_ts, uint64_t unmap_ts, uint64_t dev, uint64_t addr, uint64_t size,
                       MapOpts o = {}) {
    gt_dma_mapping_event e = mapping_event(dev, addr, size, map_ts, o);
    e.unmap_ts_ns = unmap_ts;
    return add(e, GT_EV_DMA_CLOSED, ts, o.pid);
  }
  // Cumulative counts of one counter slot: {maps, unmaps, map_bytes, unmap_bytes} per API.
  TraceBuilder& counts(uint64_t ts, uint64_t dev, uint32_t slot, const gt_dma_counts& c) {
    gt_dma_counts_event e{};
    e.dev = dev;
    e.slot = slot;
    e.counts = c;
    return add(e, GT_EV_DMA_COUNTS, ts);
  }
  TraceBuilder& unbind(uint64_t ts, uint64_t dev, const char* driver = "gpu_drv", uint32_t pid = 1) {
    gt_unbind_event e{};
    e.dev = dev;
    copy(e.driver, driver);
    return add(e, GT_EV_DRIVER_UNBIND, ts, pid);
  }
  TraceBuilder& iommu_map(uint64_t ts, uint64_t iova, uint64_t size) {
    gt_iommu_event e{};
    e.iova = iova;
    e.paddr = 0x100000000 + iova;
    e.size = size;
    return add(e, GT_EV_IOMMU_MAP, ts);
  }
  TraceBuilder& iommu_unmap(uint64_t ts, uint64_t iova, uint64_t size) {
    gt_iommu_event e{};
    e.iova = iova;
    e.size = size;
    e.unmapped = size;
    return add(e, GT_EV_IOMMU_UNMAP, ts);
  }
  TraceBuilder& fault(uint64_t ts, const char* name, uint64_t iova, uint32_t flags = 1, uint32_t reason = 6) {
    gt_iommu_fault_event e{};
    copy(e.name, name);
    e.iova = iova;
    e.flags = flags;
    e.reason = reason;
    e.source = GT_FAULT_DMAR_KMSG;
    return add(e, GT_EV_IOMMU_FAULT, ts);
  }
  TraceBuilder& stack(uint64_t ts, int32_t id, const std::vector<std::string>& symbols) {
    gt_stack_event e{};
    e.stack_id = id;
    e.nr_frames = static_cast<uint32_t>(symbols.size());
    std::vector<std::byte> tail;
    std::string names;
    for (size_t i = 0; i < symbols.size(); ++i) {
      gt_stack_frame f{0xffffffff81000000 + i * 0x100, static_cast<uint32_t>(0x10 + i), 0};
      const auto* p = reinterpret_cast<const std::byte*>(&f);
      tail.insert(tail.end(), p, p + sizeof(f));
      names += symbols[i];
      names.push_back('\0');
    }
    e.names_len = static_cast<uint32_t>(names.size());
    const auto* n = reinterpret_cast<const std::byte*>(names.data());
    tail.insert(tail.end(), n, n + names.size());
    return add(e, GT_EV_STACK, ts, 0, tail);
  }
  TraceBuilder& swiotlb(uint64_t ts, uint64_t dev, uint64_t size) {
    gt_swiotlb_event e{};
    e.dev = dev;
    e.size = size;
    return add(e, GT_EV_SWIOTLB_BOUNCE, ts);
  }
  // A GC pause of pid over [begin, begin + dur] (a CPython collection of `generation`,
  // `collected` objects; -1: not counted).
  TraceBuilder& gc_pause(uint32_t pid, uint64_t begin, uint64_t dur, uint8_t generation = 0, int64_t collected = -1) {
    gt_gc_pause_event e{};
    e.begin_ns = begin;
    e.duration_ns = dur;
    e.span_ns = dur;
    e.ns_pid = pid;
    e.collected = collected;
    e.generation = generation;
    e.runtime = GT_GC_RT_CPYTHON;
    e.cause = GT_GC_CAUSE_COLLECTION;
    e.stw_reason = GT_GO_NO_REASON;
    return add(e, GT_EV_GC_PAUSE, begin + dur, pid);
  }
  // A HotSpot pause of pid (full: a full collection) or a Go stop-the-world of `cause`.
  TraceBuilder& jvm_pause(uint32_t pid, uint64_t begin, uint64_t dur, bool full = false) {
    gt_gc_pause_event e{};
    e.begin_ns = begin;
    e.duration_ns = e.span_ns = dur;
    e.ns_pid = pid;
    e.collected = -1;
    e.runtime = GT_GC_RT_HOTSPOT;
    e.cause = GT_GC_CAUSE_COLLECTION;
    e.flags = full ? GT_GC_F_FULL : 0;
    e.stw_reason = GT_GO_NO_REASON;
    return add(e, GT_EV_GC_PAUSE, begin + dur, pid);
  }
  TraceBuilder& go_pause(uint32_t pid, uint64_t begin, uint64_t dur, uint8_t cause) {
    gt_gc_pause_event e{};
    e.begin_ns = begin;
    e.duration_ns = e.span_ns = dur;
    e.ns_pid = pid;
    e.collected = -1;
    e.runtime = GT_GC_RT_GO;
    e.cause = cause;
    e.stw_reason = GT_GO_NO_REASON;
    return add(e, GT_EV_GC_PAUSE, begin + dur, pid);
  }
  // The marker the GC probes send when a pause of pid begins (its pause record comes at the end).
  TraceBuilder& gc_begin(uint32_t pid, uint64_t ts) {
    gt_gc_begin_event e{};
    e.runtime = GT_GC_RT_CPYTHON;
    return add(e, GT_EV_GC_BEGIN, ts, pid);
  }
  // Binds CUDA device id of pid to the PCI device dddd:bb:dd.0.
  TraceBuilder& gpu_device(uint64_t ts, uint32_t pid, uint32_t id, uint32_t bus, uint32_t domain = 0) {
    gt_gpu_device_event e{};
    e.device_id = id;
    e.pci_domain = domain;
    e.pci_bus = bus;
    copy(e.name, "NVIDIA H100 (test)");
    return add(e, GT_EV_GPU_DEVICE, ts, pid);
  }
  TraceBuilder& gpu_kernel(uint32_t pid, uint64_t start, uint64_t end, uint32_t device_id = 0) {
    gt_gpu_kernel_event e{};
    e.end_ns = end;
    e.device_id = device_id;
    e.hdr.cpu = GT_GPU_NO_CPU;
    return add(e, GT_EV_GPU_KERNEL, start, pid);
  }
  // A copy; src/dst memory kinds: 1 pageable, 2 pinned, 3 device.
  TraceBuilder& memcpy(uint32_t pid, uint64_t start, uint64_t end, uint64_t bytes, uint8_t copy_kind = GT_GPU_COPY_HTOD,
                       bool pageable = false, uint32_t device_id = 0) {
    gt_gpu_memcpy_event e{};
    e.end_ns = end;
    e.bytes = bytes;
    e.device_id = device_id;
    e.copy_kind = copy_kind;
    const uint8_t host = pageable ? 1 : 2;
    e.src_kind = copy_kind == GT_GPU_COPY_HTOD ? host : 3;
    e.dst_kind = copy_kind == GT_GPU_COPY_HTOD ? 3 : host;
    return add(e, GT_EV_GPU_MEMCPY, start, pid);
  }
  TraceBuilder& loss(uint64_t ts, const char* name, uint64_t value) {
    gt_loss_event e{};
    e.value = value;
    copy(e.name, name);
    return add(e, GT_EV_LOSS, ts);
  }

  // Records through the real decoder, in the order they were added.
  std::vector<Record> records() const {
    std::vector<Record> out;
    for (const auto& bytes : records_) {
      Record r;
      EXPECT_EQ(decode_one(bytes, r), DecodeError::None);
      out.push_back(r);
    }
    return out;
  }
  // Into an Engine or a Pipeline (anything with push and finish).
  template <class Sink>
  void feed(Sink& sink, bool finish = true) const {
    for (const Record& r : records()) sink.push(r);
    if (finish) sink.finish();
  }
  size_t size() const { return records_.size(); }

 private:
  template <size_t N>
  static void copy(char (&dst)[N], const char* src) {
    const size_t n = std::min(std::strlen(src), N - 1);  // wire strings stay NUL-terminated
    std::memcpy(dst, src, n);
    std::memset(dst + n, 0, N - n);
  }
  static gt_proc_event proc_event(uint64_t start, const char* comm, const char* exe) {
    gt_proc_event e{};
    e.start_ns = start;
    e.ppid = 1;
    e.ns_pid = 1;
    e.cgroup_id = 4242;
    copy(e.comm, comm);
    copy(e.filename, exe);
    return e;
  }
  static gt_dma_mapping_event mapping_event(uint64_t dev, uint64_t addr, uint64_t size, uint64_t map_ts,
                                            const MapOpts& o) {
    gt_dma_mapping_event e{};
    e.dev = dev;
    e.dma_addr = addr;
    e.size = size;
    e.map_ts_ns = map_ts;
    e.nents = 1;
    e.stack_id = o.stack_id;
    e.api = o.api;
    e.dir = o.dir;
    e.context = o.context;
    e.source = GT_SRC_TP_BTF;
    return e;  // comm empty, as the kernel's sweep sends it
  }
  static gt_dma_event dma_event(uint64_t dev, uint64_t addr, uint64_t size, const MapOpts& o) {
    gt_dma_event e{};
    e.dev = dev;
    e.dma_addr = addr;
    e.size = size;
    e.nents = 1;
    e.stack_id = o.stack_id;
    e.api = o.api;
    e.dir = o.dir;
    e.context = o.context;
    copy(e.comm, o.comm);
    return e;
  }

  std::vector<std::vector<std::byte>> records_;
};

// Findings of one kind.
inline std::vector<Finding> findings_of(const Engine& engine, const std::string& kind) {
  std::vector<Finding> out;
  for (const auto& f : engine.findings())
    if (f.kind_name() == kind) out.push_back(f);
  return out;
}

}  // namespace gputrace::test
