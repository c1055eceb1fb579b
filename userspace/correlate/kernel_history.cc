#include "userspace/correlate/kernel_history.h"

#include <algorithm>

namespace gputrace {
namespace {

template <class B>
std::deque<B>& of_device(std::vector<std::deque<B>>& series, uint32_t device) {
  if (device >= series.size()) series.resize(device + 1);
  return series[device];
}

}  // namespace

bool KernelHistory::full() {
  if (entries_ < max_entries_) return false;
  ++dropped_;
  return true;
}

template <class B>
B* KernelHistory::bucket_at(std::deque<B>& buckets, uint64_t ts) {
  const uint64_t start = ts - ts % kBucketNs;
  if (buckets.empty() || buckets.back().start < start) {
    if (full()) return nullptr;
    buckets.push_back(B{.start = start});
    ++entries_;
  }
  // A record older than the newest bucket (late, out of order) joins the newest bucket:
  // off by at most the engine's reorder slack, and the lists stay sorted.
  return &buckets.back();
}

template <class B>
auto KernelHistory::first_overlapping(const std::deque<B>& buckets, uint64_t begin) {
  return std::lower_bound(buckets.begin(), buckets.end(), begin,
                          [](const B& b, uint64_t t) { return b.start + kBucketNs <= t; });
}

template <class B>
void KernelHistory::trim(std::deque<B>& buckets, uint64_t ts) {
  while (!buckets.empty() && buckets.front().start + kBucketNs <= ts) {
    buckets.pop_front();
    --entries_;
  }
}

void KernelHistory::add_amount(std::vector<AmountBuckets>& series, uint32_t device, uint64_t ts, uint64_t value) {
  if (AmountBucket* b = bucket_at(of_device(series, device), ts)) {
    ++b->count;
    b->total += value;
  }
}

void KernelHistory::on_dma(uint32_t device, bool unmap, uint64_t ts) {
  if (Bucket* b = bucket_at(of_device(dma_, device), ts)) ++(unmap ? b->unmaps : b->maps);
}

void KernelHistory::on_iommu_unmap(uint64_t ts) {
  if (Bucket* b = bucket_at(iommu_unmaps_, ts)) ++b->unmaps;
}

void KernelHistory::on_swiotlb(uint32_t device, uint64_t ts, uint64_t bytes) { add_amount(swiotlb_, device, ts, bytes); }

void KernelHistory::on_unmap_latency(uint32_t device, uint64_t ts, uint64_t latency_ns) {
  add_amount(unmap_latency_, device, ts, latency_ns);
}

void KernelHistory::on_gc_pause(uint32_t pid, const GcPauseSpan& pause) {
  if (full()) return;
  Pauses& pauses = gc_[pid];
  // Pauses arrive in order of their end; keep them sorted by begin for the overlap search.
  auto at = std::upper_bound(pauses.by_begin.begin(), pauses.by_begin.end(), pause.begin_ns,
                             [](uint64_t t, const GcPauseSpan& p) { return t < p.begin_ns; });
  pauses.by_begin.insert(at, pause);
  pauses.longest_ns = std::max(pauses.longest_ns, pause.end_ns - pause.begin_ns);
  ++entries_;
}

void KernelHistory::on_gc_begin(uint32_t pid, uint64_t ts) {
  // One open pause per process (a collector stops the whole program); a newer begin means
  // the end of the older one was lost. Bounded like the pause lists: full means not waited for.
  if (!open_pauses_.contains(pid) && open_pauses_.size() >= kMaxOpenPauses) {
    ++dropped_;
    return;
  }
  open_pauses_[pid] = ts;
}

void KernelHistory::on_gc_pause_end(uint32_t pid, uint64_t end_ns) {
  auto it = open_pauses_.find(pid);
  if (it != open_pauses_.end() && it->second <= end_ns) open_pauses_.erase(it);
}

std::optional<uint64_t> KernelHistory::open_pause_since(uint32_t pid) const {
  auto it = open_pauses_.find(pid);
  if (it == open_pauses_.end()) return std::nullopt;
  return it->second;
}

void KernelHistory::forget_before(uint64_t ts) {
  for (Buckets& b : dma_) trim(b, ts);
  trim(iommu_unmaps_, ts);
  for (AmountBuckets& b : swiotlb_) trim(b, ts);
  for (AmountBuckets& b : unmap_latency_) trim(b, ts);
  for (auto it = gc_.begin(); it != gc_.end();) {
    auto& pauses = it->second.by_begin;
    while (!pauses.empty() && pauses.front().end_ns < ts) {
      pauses.pop_front();
      --entries_;
    }
    it = pauses.empty() ? gc_.erase(it) : std::next(it);
  }
}

KernelHistory::DmaCounts KernelHistory::sum(const Buckets& buckets, uint64_t begin, uint64_t end) {
  DmaCounts out;
  for (auto it = first_overlapping(buckets, begin); it != buckets.end() && it->start <= end; ++it) {
    out.maps += it->maps;
    out.unmaps += it->unmaps;
  }
  return out;
}

KernelHistory::Amount KernelHistory::sum(const AmountBuckets& buckets, uint64_t begin, uint64_t end) {
  Amount out;
  for (auto it = first_overlapping(buckets, begin); it != buckets.end() && it->start <= end; ++it) {
    out.count += it->count;
    out.total += it->total;
  }
  return out;
}

KernelHistory::Amount KernelHistory::swiotlb_in(uint32_t device, uint64_t begin, uint64_t end) const {
  return device < swiotlb_.size() ? sum(swiotlb_[device], begin, end) : Amount{};
}

KernelHistory::Amount KernelHistory::unmap_latency_in(uint32_t device, uint64_t begin, uint64_t end) const {
  return device < unmap_latency_.size() ? sum(unmap_latency_[device], begin, end) : Amount{};
}

KernelHistory::DmaCounts KernelHistory::dma_in(uint32_t device, uint64_t begin, uint64_t end) const {
  return device < dma_.size() ? sum(dma_[device], begin, end) : DmaCounts{};
}

uint64_t KernelHistory::iommu_unmaps_in(uint64_t begin, uint64_t end) const {
  return sum(iommu_unmaps_, begin, end).unmaps;
}

std::vector<std::pair<uint32_t, uint64_t>> KernelHistory::unmaps_by_device_in(uint64_t begin, uint64_t end) const {
  std::vector<std::pair<uint32_t, uint64_t>> out;
  for (uint32_t d = 0; d < dma_.size(); ++d) {
    if (const uint64_t n = sum(dma_[d], begin, end).unmaps) out.emplace_back(d, n);
  }
  return out;
}

std::vector<GcPauseSpan> KernelHistory::gc_pauses_in(uint32_t pid, uint64_t begin, uint64_t end) const {
  std::vector<GcPauseSpan> out;
  auto it = gc_.find(pid);
  if (it == gc_.end()) return out;
  const auto& pauses = it->second.by_begin;
  // Only a pause that began at most `longest` before `begin` can still be running then.
  const uint64_t earliest = begin > it->second.longest_ns ? begin - it->second.longest_ns : 0;
  auto p = std::lower_bound(pauses.begin(), pauses.end(), earliest,
                            [](const GcPauseSpan& s, uint64_t t) { return s.begin_ns < t; });
  for (; p != pauses.end() && p->begin_ns <= end; ++p) {
    if (p->end_ns >= begin) out.push_back(*p);
  }
  return out;
}

}  // namespace gputrace
