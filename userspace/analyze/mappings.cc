// MappingTracker's bookkeeping: maps, unmaps, totals, and the unmatched-unmap rule.
// The leak rules (unbind, owner exit) and the evidence live in mapping_leaks.cc.
#include "userspace/analyze/mappings.h"

#include <fmt/format.h>

#include <cstring>

namespace gputrace {

MappingTracker::MappingTracker(MappingTrackerConfig config, DeviceTable& devices, ProcessTable& processes,
                               StackTable& stacks, FindingSink& findings)
    : config_(config), devices_(devices), processes_(processes), stacks_(stacks), findings_(findings),
      outstanding_(1 << 13), unmapped_(1 << 12) {}

DeviceDmaStats& MappingTracker::stats_for(uint32_t device) {
  if (device >= stats_.size()) stats_.resize(device + 1);
  return stats_[device];
}

uint32_t MappingTracker::owner_for(const ProcessInfo* process, uint32_t pid, uint8_t context,
                                   std::string_view event_comm, int32_t stack) {
  const ProcessKey key = process ? process->key : ProcessKey{pid, 0};
  const Stack* s = stacks_.at(stack);
  OwnerKind kind = OwnerKind::Process;
  // An interrupt borrowed whatever task was running; a probe path means the driver's own
  // long-lived state, whoever ran insmod; a kernel thread has no user process behind it.
  if (context & GT_CTX_IRQ)
    kind = OwnerKind::Kernel;
  else if (s && s->driver_owned_path)
    kind = OwnerKind::Driver;
  else if ((context & GT_CTX_KTHREAD) || pid == 0)
    kind = OwnerKind::Kernel;
  // A promoted mapping carries no name: the process table's, when it knows the process.
  const std::string comm(
      (process && !process->comm.empty() && (kind == OwnerKind::Process || event_comm.empty())) ? process->comm
                                                                                                : event_comm);
  const uint32_t id = owners_.intern(key, kind, comm);
  if (kind == OwnerKind::Process && owners_.at(id).mappings_made == 0) processes_.pin(key);
  return id;
}

const ProcessInfo* MappingTracker::process_at(uint32_t pid, uint64_t ts) const {
  // a time kept in jiffies is rounded down a tick: a process may have started in that tick
  constexpr uint64_t kTickSlack = 10'000'000;
  const auto& all = processes_.all();
  auto it = all.upper_bound(ProcessKey{pid, ts + kTickSlack});
  if (it == all.begin()) return nullptr;
  --it;
  return it->first.pid == pid && (!it->second.exited || it->second.exit_ns >= ts) ? &it->second : nullptr;
}

void MappingTracker::on_map(const gt_dma_event& e) {
  const uint32_t device = devices_.intern_key(e.dev);
  DeviceDmaStats& stats = stats_for(device);
  if (e.api >= GT_DMA_PAGE && e.api <= GT_DMA_COHERENT) {
    ApiTotals& t = stats.by_api[e.api - 1];
    ++t.maps;
    t.map_bytes += e.size;
  } else {
    ++stats.unknown_api_events;
  }
  const int32_t stack = stacks_.resolve(e.stack_id);
  const uint32_t owner = cached_owner(e, stack);
  track({device, e.dma_addr}, Mapping{e.size, e.hdr.ts_ns, owner, stack, device, e.dir, e.api, e.context, false});
}

uint32_t MappingTracker::cached_owner(const gt_dma_event& e, int32_t stack) {
  const uint64_t slot = mix64((uint64_t{e.hdr.pid} << 32) | static_cast<uint32_t>(stack) | (uint64_t{e.context} << 24));
  OwnerCacheEntry& c = owner_cache_[slot % owner_cache_.size()];
  if (c.generation == processes_.generation() && c.pid == e.hdr.pid && c.stack == stack && c.context == e.context &&
      std::memcmp(c.comm.data(), e.comm, c.comm.size()) == 0)
    return c.owner;
  const uint32_t owner =
      owner_for(processes_.live(e.hdr.pid), e.hdr.pid, e.context, fixed_string(e.comm, sizeof(e.comm)), stack);
  c.generation = processes_.generation();
  c.pid = e.hdr.pid;
  c.stack = stack;
  c.context = e.context;
  std::memcpy(c.comm.data(), e.comm, c.comm.size());
  c.owner = owner;
  return owner;
}

void MappingTracker::on_outstanding(const gt_dma_mapping_event& e) {
  const uint32_t device = devices_.intern_key(e.dev);
  const int32_t stack = stacks_.resolve(e.stack_id);
  const ProcessInfo* process = process_at(e.hdr.pid, e.map_ts_ns);
  const uint32_t owner = owner_for(process, e.hdr.pid, e.context, fixed_string(e.comm, sizeof(e.comm)), stack);
  track({device, e.dma_addr}, Mapping{e.size, e.map_ts_ns, owner, stack, device, e.dir, e.api, e.context, false});
  if (process && process->exited && owners_.at(owner).kind == OwnerKind::Process) judge_later(owner, *process);
}

void MappingTracker::on_closed(const gt_dma_mapping_event& e) {
  const uint32_t device = devices_.intern_key(e.dev);
  const int32_t stack = stacks_.resolve(e.stack_id);
  const uint32_t owner = owner_for(process_at(e.hdr.pid, e.map_ts_ns), e.hdr.pid, e.context,
                                   fixed_string(e.comm, sizeof(e.comm)), stack);
  remember_unmapped({device, e.dma_addr},
                    Mapping{e.size, e.map_ts_ns, owner, stack, device, e.dir, e.api, e.context, false}, e.unmap_ts_ns);
}

void MappingTracker::track(const MappingKey& key, const Mapping& m) {
  DeviceDmaStats& stats = stats_for(m.device);
  // No need to forget the address's last unmap here: it is consulted only for an unmap that
  // finds nothing outstanding, and a mapping leaves the table only by an unmap (which records
  // a newer one) or by its device's unbind (which forgets them).
  if (const Mapping* existing = outstanding_.find(key.device, key.addr)) {
    duplicates_.emplace(key, *existing);
    ++stats.duplicate_maps;
  }
  outstanding_.insert_or_assign(key.addr, m);
  ++stats.outstanding;
  stats.outstanding_bytes += m.size;
  Owner& owner = owners_.at(m.owner);
  ++owner.mappings_made;
  owner.bytes_mapped += m.size;
  ++owner.outstanding;
  owner.outstanding_bytes += m.size;
}

void MappingTracker::add_kernel_counts(uint32_t device, const gt_dma_counts& delta) {
  DeviceDmaStats& stats = stats_for(device);
  for (size_t api = 0; api < stats.by_api.size(); ++api) {
    ApiTotals& t = stats.by_api[api];
    t.maps += delta.maps[api];
    t.unmaps += delta.unmaps[api];
    t.map_bytes += delta.map_bytes[api];
    t.unmap_bytes += delta.unmap_bytes[api];
  }
}

// Finds the mapping an unmap releases. With duplicates (the same address mapped twice, which
// only happens without an IOMMU) prefer the one whose size and direction match, as dma-debug does.
bool MappingTracker::take_outstanding(const MappingKey& key, const gt_dma_event& unmap, Mapping& out) {
  Mapping* primary = outstanding_.find(key.device, key.addr);
  if (!primary) return false;
  auto [first, last] = duplicates_.equal_range(key);
  const bool primary_fits = primary->size == unmap.size && primary->dir == unmap.dir;
  for (auto it = first; it != last && !primary_fits; ++it) {
    if (it->second.size == unmap.size && it->second.dir == unmap.dir) {
      out = it->second;
      duplicates_.erase(it);
      return true;
    }
  }
  out = *primary;
  if (first != last) {
    *primary = first->second;  // the older duplicate becomes the primary entry
    duplicates_.erase(first);
  } else {
    outstanding_.erase(key.device, key.addr);
  }
  return true;
}

void MappingTracker::release(const Mapping& m) {
  DeviceDmaStats& stats = stats_for(m.device);
  --stats.outstanding;
  stats.outstanding_bytes -= m.size;
  stats.interval_min_outstanding = std::min(stats.interval_min_outstanding, stats.outstanding);
  stats.interval_min_bytes = std::min(stats.interval_min_bytes, stats.outstanding_bytes);
  Owner& owner = owners_.at(m.owner);
  --owner.outstanding;
  owner.outstanding_bytes -= m.size;
}

void MappingTracker::remember_unmapped(const MappingKey& key, const Mapping& m, uint64_t ts) {
  if (config_.unmap_history == 0) return;
  unmapped_.insert_or_assign(key, Unmapped{ts, ++unmapped_seq_, m});
  if (unmapped_order_.size() < config_.unmap_history) {
    unmapped_order_.emplace_back(key, unmapped_seq_);
    return;
  }
  // Full: the oldest goes, unless its address was unmapped again since (a newer seq).
  auto& oldest = unmapped_order_[unmapped_next_];
  const Unmapped* old = unmapped_.find(oldest.first);
  if (old && old->seq == oldest.second) unmapped_.erase(oldest.first);
  oldest = {key, unmapped_seq_};
  unmapped_next_ = (unmapped_next_ + 1) % unmapped_order_.size();
}

void MappingTracker::on_unmap(const gt_dma_event& e) {
  const uint32_t device = devices_.intern_key(e.dev);
  DeviceDmaStats& stats = stats_for(device);
  const std::optional<uint64_t> size = close(e, device, stats);
  if (e.api >= GT_DMA_PAGE && e.api <= GT_DMA_COHERENT) {
    ApiTotals& t = stats.by_api[e.api - 1];
    ++t.unmaps;
    // An sg unmap may not know the mapped length: count what the matching map said.
    t.unmap_bytes += (e.size == 0 && size) ? *size : e.size;
  } else {
    ++stats.unknown_api_events;
  }
}

void MappingTracker::on_released(const gt_dma_event& e) {
  const uint32_t device = devices_.intern_key(e.dev);
  close(e, device, stats_for(device));
}

std::optional<uint64_t> MappingTracker::close(const gt_dma_event& e, uint32_t device, DeviceDmaStats& stats) {
  const MappingKey key{device, e.dma_addr};
  Mapping m;
  if (take_outstanding(key, e, m)) {
    check_mismatch(key, m, e);
    release(m);
    remember_unmapped(key, m, e.hdr.ts_ns);
    return m.size;
  }
  if (const Unmapped* previous = unmapped_.find(key))
    report_double_unmap(key, *previous, e);
  else
    ++stats.unmaps_of_pre_trace_mappings;  // mapped before tracing started: not an error
  return std::nullopt;
}

void MappingTracker::check_mismatch(const MappingKey& key, const Mapping& m, const gt_dma_event& unmap) {
  const bool api_differs = unmap.api != m.api;
  // sg unmaps carry the mapped length only when the collector could compute it.
  const bool size_differs = unmap.size != m.size && !(m.api == GT_DMA_SG && unmap.size == 0);
  // Coherent buffers have no direction.
  const bool dir_differs = m.api != GT_DMA_COHERENT && unmap.dir != m.dir;
  if (!api_differs && !size_differs && !dir_differs) return;
  Finding f = unmatched_unmap(key, m, unmap, Severity::Warning, m.map_ts, {{"reason", "mismatch"}});
  const auto& dev = devices_.at(m.device);
  f.message = fmt::format("{}: unmap of {:#x} ({} {} bytes, {}) does not match its mapping ({} {} bytes, {})", dev.name,
                          key.addr, dma_api_name(unmap.api), unmap.size, dma_direction_name(unmap.dir),
                          dma_api_name(m.api), m.size, dma_direction_name(m.dir));
  findings_.add(std::move(f));
}

void MappingTracker::report_double_unmap(const MappingKey& key, const Unmapped& previous, const gt_dma_event& unmap) {
  const Mapping& m = previous.mapping;
  Finding f = unmatched_unmap(key, m, unmap, Severity::Critical, previous.unmap_ts,
                              {{"reason", "double_unmap"}, {"previous_unmap_ns", previous.unmap_ts}});
  f.message = fmt::format("{}: double unmap of {:#x} ({} bytes): already unmapped at {} ns", f.device, key.addr,
                          unmap.size, previous.unmap_ts);
  findings_.add(std::move(f));
}

// The parts every dma_unmap_unmatched finding shares; counts it against device and owner.
Finding MappingTracker::unmatched_unmap(const MappingKey& key, const Mapping& m, const gt_dma_event& unmap,
                                        Severity severity, uint64_t start_ns,
                                        const nlohmann::ordered_json& why) {
  ++stats_for(m.device).unmatched_unmaps;
  ++owners_.at(m.owner).other_findings;
  Finding f;
  f.kind = FindingKind::dma_unmap_unmatched;
  f.severity = severity;
  f.start_ns = start_ns;
  f.end_ns = unmap.hdr.ts_ns;
  f.pid = unmap.hdr.pid;
  f.comm = fixed_string(unmap.comm, sizeof(unmap.comm));
  f.device = devices_.at(m.device).name;
  f.evidence = mapping_evidence(key, m);
  for (const auto& [k, v] : why.items()) f.evidence[k] = v;
  f.evidence["unmap"] = {{"size", unmap.size},
                         {"direction", dma_direction_name(unmap.dir)},
                         {"api", dma_api_name(unmap.api)},
                         {"unmapped_at_ns", unmap.hdr.ts_ns},
                         {"pid", unmap.hdr.pid},
                         {"comm", f.comm}};
  return f;
}

void MappingTracker::start_growth_interval() {
  for (auto& s : stats_) {
    s.interval_min_outstanding = s.outstanding;
    s.interval_min_bytes = s.outstanding_bytes;
  }
}

}  // namespace gputrace
