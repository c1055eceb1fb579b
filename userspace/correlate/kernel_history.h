// KernelHistory: the recent kernel-side activity the correlation needs to explain what the
// GPU did, kept for a bounded span of time: DMA-API map/unmap counts, swiotlb bounces and
// IOMMU unmap latency per device and host-wide IOMMU unmaps, in 100 us buckets, and the GC
// pauses of every process. (Faults and AER errors, rare and wanted one by one, are kept by
// DeviceHealth.) Buckets keep the cost per event constant and the memory bounded by time,
// not by event rate: a confidential VM bounces every DMA.
//
// GPU activity reaches the daemon up to a CUPTI flush period after it happened, so these
// facts are recorded as kernel events are processed and looked up later, by time range.
// Records are appended in time order (the engine's reorder window guarantees it), which
// keeps every list sorted and every lookup a binary search.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

namespace gputrace {

struct GcPauseSpan {
  uint64_t begin_ns = 0;
  uint64_t end_ns = 0;
  uint8_t runtime = 0;  // enum gt_gc_runtime
};

class KernelHistory {
 public:
  static constexpr uint64_t kBucketNs = 100'000;
  static constexpr size_t kMaxOpenPauses = 65536;

  explicit KernelHistory(size_t max_entries = size_t{1} << 22) : max_entries_(max_entries) {}

  void on_dma(uint32_t device, bool unmap, uint64_t ts);
  void on_iommu_unmap(uint64_t ts);  // host-wide: iommu:unmap names no device
  void on_swiotlb(uint32_t device, uint64_t ts, uint64_t bytes);
  void on_unmap_latency(uint32_t device, uint64_t ts, uint64_t latency_ns);
  // A pause of pid began (GT_EV_GC_BEGIN); it stays open until that process's next pause
  // record (any cause) or its exit.
  void on_gc_begin(uint32_t pid, uint64_t ts);
  void on_gc_pause(uint32_t pid, const GcPauseSpan& pause);
  void on_gc_pause_end(uint32_t pid, uint64_t end_ns);
  void on_process_exit(uint32_t pid) { open_pauses_.erase(pid); }
  // When the pause of pid that is still under way began; nullopt when none is.
  std::optional<uint64_t> open_pause_since(uint32_t pid) const;

  // Forgets everything that ended before ts.
  void forget_before(uint64_t ts);

  struct DmaCounts {
    uint64_t maps = 0;
    uint64_t unmaps = 0;
  };
  // Counts in buckets overlapping [begin, end]: exact to a bucket (100 us) at either end.
  DmaCounts dma_in(uint32_t device, uint64_t begin, uint64_t end) const;
  uint64_t iommu_unmaps_in(uint64_t begin, uint64_t end) const;
  // The devices with DMA-API unmaps in [begin, end], with their counts.
  std::vector<std::pair<uint32_t, uint64_t>> unmaps_by_device_in(uint64_t begin, uint64_t end) const;
  struct Amount {
    uint64_t count = 0;
    uint64_t total = 0;  // bytes bounced, or ns of unmap latency
  };
  Amount swiotlb_in(uint32_t device, uint64_t begin, uint64_t end) const;
  Amount unmap_latency_in(uint32_t device, uint64_t begin, uint64_t end) const;
  // The pauses of pid that overlap [begin, end], oldest first.
  std::vector<GcPauseSpan> gc_pauses_in(uint32_t pid, uint64_t begin, uint64_t end) const;

  uint64_t entries_dropped() const { return dropped_; }  // over max_entries: lost to correlation

 private:
  struct Bucket {
    uint64_t start = 0;
    uint32_t maps = 0;
    uint32_t unmaps = 0;
  };
  struct AmountBucket {
    uint64_t start = 0;
    uint64_t count = 0;
    uint64_t total = 0;
  };
  using Buckets = std::deque<Bucket>;
  using AmountBuckets = std::deque<AmountBucket>;

  template <class B>
  B* bucket_at(std::deque<B>& buckets, uint64_t ts);  // nullptr when full
  template <class B>
  static auto first_overlapping(const std::deque<B>& buckets, uint64_t begin);
  template <class B>
  void trim(std::deque<B>& buckets, uint64_t ts);
  void add_amount(std::vector<AmountBuckets>& series, uint32_t device, uint64_t ts, uint64_t value);
  static DmaCounts sum(const Buckets& buckets, uint64_t begin, uint64_t end);
  static Amount sum(const AmountBuckets& buckets, uint64_t begin, uint64_t end);
  bool full();

  size_t max_entries_;
  size_t entries_ = 0;
  uint64_t dropped_ = 0;
  std::vector<Buckets> dma_;  // by DeviceTable index
  Buckets iommu_unmaps_;      // unmaps counted in Bucket::unmaps
  std::vector<AmountBuckets> swiotlb_;         // by DeviceTable index
  std::vector<AmountBuckets> unmap_latency_;   // by DeviceTable index
  struct Pauses {
    std::deque<GcPauseSpan> by_begin;
    uint64_t longest_ns = 0;  // bounds how far back an overlapping pause can begin
  };
  std::unordered_map<uint32_t, Pauses> gc_;
  std::unordered_map<uint32_t, uint64_t> open_pauses_;  // pid -> begin
};

}  // namespace gputrace
