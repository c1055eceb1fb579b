// Sample wire records for capture tests and the capture fuzzer's seeds: real payload
// structs from bpf/*.h, several kinds, with fields that vary so chunks do not compress away.
#pragma once

extern "C" {
#include "bpf/dma.h"
#include "bpf/host.h"
#include "bpf/iommu.h"
#include "bpf/pcie.h"
#include "bpf/proc.h"
}

#include "userspace/capture/capture.h"
#include "userspace/decode/decoder.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace gputrace::capture_testing {

using Bytes = std::vector<std::byte>;

// Deterministic so the checked-in fixture can be compared with a fresh generation.
class SampleRecords {
 public:
  explicit SampleRecords(uint64_t seed = 1) : state_(seed * 0x9e3779b97f4a7c15ull + 1) {}

  // Record number i of the sample stream: cycles through the kinds, timestamps rise.
  Bytes next() {
    const uint64_t i = count_++;
    ts_ += 1 + random() % 5000;
    switch (i % 9) {
      case 0: return proc_exec(i);
      case 1: return fork(i);
      case 2: case 3: return dma(i, GT_EV_DMA_MAP);
      case 4: return dma(i, GT_EV_DMA_UNMAP);
      case 5: return iommu_map(i);
      case 6: return fault(i);
      case 7: return stack(i);
      default: return exit(i);
    }
  }

  std::vector<Bytes> take(size_t n) {
    std::vector<Bytes> out;
    out.reserve(n);
    for (size_t k = 0; k < n; ++k) out.push_back(next());
    return out;
  }

 private:
  uint64_t random() {  // splitmix64
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  template <class T>
  void fill_header(T& e, uint16_t kind, uint32_t size) {
    e.hdr.kind = kind;
    e.hdr.size = size;
    e.hdr.cpu = static_cast<uint16_t>(random() % 64);
    e.hdr.ts_ns = ts_;
    e.hdr.pid = 1000 + static_cast<uint32_t>(random() % 50);
    e.hdr.tid = e.hdr.pid + static_cast<uint32_t>(random() % 4);
  }

  template <class T>
  static Bytes bytes_of(const T& e) {
    Bytes out(sizeof(e));
    std::memcpy(out.data(), &e, sizeof(e));
    return out;
  }

  static void copy_name(char* dst, size_t cap, std::string_view name) {
    std::memcpy(dst, name.data(), name.size() < cap ? name.size() : cap - 1);
  }

  Bytes proc_exec(uint64_t i) {
    gt_proc_event e{};
    fill_header(e, GT_EV_PROC_EXEC, sizeof(e));
    e.start_ns = ts_ - 1000;
    e.cgroup_id = random();
    e.ppid = 1;
    e.ns_pid = static_cast<uint32_t>(i);
    copy_name(e.comm, sizeof(e.comm), "python3");
    copy_name(e.filename, sizeof(e.filename), "/usr/bin/python3.11");
    return bytes_of(e);
  }

  Bytes fork(uint64_t i) {
    gt_fork_event e{};
    fill_header(e, GT_EV_PROC_FORK, sizeof(e));
    e.child_start_ns = ts_;
    e.child_pid = 20000 + static_cast<uint32_t>(i);
    copy_name(e.comm, sizeof(e.comm), "vllm-worker");
    return bytes_of(e);
  }

  Bytes exit(uint64_t) {
    gt_exit_event e{};
    fill_header(e, GT_EV_PROC_EXIT, sizeof(e));
    e.start_ns = ts_ - 5'000'000;
    e.exit_code = static_cast<int32_t>(random() % 3);
    copy_name(e.comm, sizeof(e.comm), "python3");
    return bytes_of(e);
  }

  Bytes dma(uint64_t i, uint16_t kind) {
    gt_dma_event e{};
    fill_header(e, kind, sizeof(e));
    e.dev = 0xffff888100a0c000ull + (random() % 4) * 0x1000;
    e.dma_addr = 0xfff00000ull + (random() % 4096) * 4096;
    e.size = 4096u << (random() % 6);
    e.phys_addr = kind == GT_EV_DMA_MAP ? random() & ~0xfffull : 0;
    e.nents = 1;
    e.stack_id = static_cast<int32_t>(i % 17) - 1;
    e.api = GT_DMA_PAGE;
    e.dir = static_cast<uint8_t>(random() % 3);
    e.source = GT_SRC_TP_BTF;
    copy_name(e.comm, sizeof(e.comm), "nvme_submit");
    return bytes_of(e);
  }

  Bytes iommu_map(uint64_t) {
    gt_iommu_event e{};
    fill_header(e, GT_EV_IOMMU_MAP, sizeof(e));
    e.iova = 0xfff00000ull + (random() % 4096) * 4096;
    e.paddr = random() & ~0xfffull;
    e.size = 4096;
    e.source = GT_SRC_TRACEPOINT;
    return bytes_of(e);
  }

  Bytes fault(uint64_t) {
    gt_iommu_fault_event e{};
    fill_header(e, GT_EV_IOMMU_FAULT, sizeof(e));
    e.dev = 0xffff888100a0c000ull;
    e.iova = random() & ~0xfffull;
    e.flags = 1;
    e.reason = 6;
    copy_name(e.name, sizeof(e.name), "0000:3b:00.0");
    e.source = GT_FAULT_DMAR_KMSG;
    return bytes_of(e);
  }

  // A variable-length record: frames and names after the fixed struct, padded to 8 bytes.
  Bytes stack(uint64_t i) {
    // NUL-separated names; sizeof counts the literal's own NUL, which ends the last name.
    static constexpr char kNameBytes[] = "dma_map_page_attrs\0nvme_queue_rq\0blk_mq_dispatch_rq_list";
    static constexpr std::string_view kNames(kNameBytes, sizeof(kNameBytes));
    const uint32_t frames = 3;
    const uint32_t raw_size = sizeof(gt_stack_event) + frames * sizeof(gt_stack_frame) + kNames.size();
    const uint32_t size = (raw_size + 7) / 8 * 8;
    gt_stack_event e{};
    fill_header(e, GT_EV_STACK, size);
    e.stack_id = static_cast<int32_t>(i % 17);
    e.nr_frames = frames;
    e.names_len = static_cast<uint32_t>(kNames.size());
    Bytes out(size);
    std::memcpy(out.data(), &e, sizeof(e));
    for (uint32_t f = 0; f < frames; ++f) {
      const gt_stack_frame frame{0xffffffff81000000ull + random() % 0x100000, static_cast<uint32_t>(f * 16), 0};
      std::memcpy(out.data() + sizeof(e) + f * sizeof(frame), &frame, sizeof(frame));
    }
    std::memcpy(out.data() + sizeof(e) + frames * sizeof(gt_stack_frame), kNames.data(), kNames.size());
    return out;
  }

  uint64_t state_;
  uint64_t count_ = 0;
  uint64_t ts_ = 1'000'000'000;
};

// The Record that views bytes (which must hold one valid record).
inline Record record_of(const Bytes& bytes) {
  Record r;
  decode_one(bytes, r);
  return r;
}

// Host facts that do not depend on the machine the tests run on.
inline CaptureHostInfo sample_host() {
  CaptureHostInfo host;
  host.hostname = "gpu-node-17";
  host.kernel_release = "6.12.38+deb13-amd64";
  host.boot_id = "6f2b1c9e-3d4a-4f7e-9b1a-2c3d4e5f6a7b";
  host.gputrace_version = "0.1.0";
  host.start_monotonic_ns = 1'000'000'000;
  host.start_realtime_ns = 1'750'000'000'000'000'000;
  return host;
}

}  // namespace gputrace::capture_testing
