#include "correlate/kernel_history.h"

#include <algorithm>

namespace gputrace {

bool KernelHistory::full() {
  if (entries_ < max_entries_) return false;
  ++dropped_;
  return true;
}

KernelHistory::Bucket& KernelHistory::bucket_at(Buckets& buckets, uint64_t ts) {
  const uint64_t start = ts - ts % kBucketNs;
  if (buckets.empty() || buckets.back().start < start) {
    buckets.push_back(Bucket{.start = start});
    ++entries_;
  }
  // A record older than the newest bucket (late, out of order) joins the newest bucket:
  // off by at most the engine's reorder slack, and the lists stay sorted.
  return buckets.back();
}

void KernelHistory::on_dma(uint32_t device, bool unmap, uint64_t ts) {
  if (device >= dma_.size()) dma_.resize(device + 1);
  Buckets& buckets = dma_[device];
  if ((buckets.empty() || buckets.back().start + kBucketNs <= ts) && full()) return;
  Bucket& b = bucket_at(buckets, ts);
  ++(unmap ? b.unmaps : b.maps);
}

void KernelHistory::on_iommu_unmap(uint64_t ts) {
  if ((iommu_unmaps_.empty() || iommu_unmaps_.back().start + kBucketNs <= ts) && full()) return;
  ++bucket_at(iommu_unmaps_, ts).unmaps;
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
  auto trim = [&](Buckets& buckets) {
    while (!buckets.empty() && buckets.front().start + kBucketNs <= ts) {
      buckets.pop_front();
      --entries_;
    }
  };
  for (Buckets& b : dma_) trim(b);
  trim(iommu_unmaps_);
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
  auto it = std::lower_bound(buckets.begin(), buckets.end(), begin,
                             [](const Bucket& b, uint64_t t) { return b.start + kBucketNs <= t; });
  for (; it != buckets.end() && it->start <= end; ++it) {
    out.maps += it->maps;
    out.unmaps += it->unmaps;
  }
  return out;
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
