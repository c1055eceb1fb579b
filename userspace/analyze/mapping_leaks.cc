// MappingTracker's leak rules: mappings outstanding at driver unbind (dma-debug's rule) and
// mappings a user process left behind when it exited (after a grace period).
#include "userspace/analyze/mappings.h"

#include <fmt/format.h>

#include <algorithm>

namespace gputrace {

// Outstanding mappings (primary and duplicates) that satisfy predicate, in a stable order
// (mapping time, then key) so findings never depend on hash-table layout.
std::vector<std::pair<MappingKey, Mapping*>> MappingTracker::collect(const auto& predicate) {
  std::vector<std::pair<MappingKey, Mapping*>> out;
  outstanding_.for_each([&](uint64_t addr, Mapping& m) {
    const MappingKey k{m.device, addr};
    if (predicate(k, m)) out.emplace_back(k, &m);
  });
  for (auto& [k, m] : duplicates_)
    if (predicate(k, m)) out.emplace_back(k, &m);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second->map_ts, a.first) < std::tie(b.second->map_ts, b.first);
  });
  return out;
}

nlohmann::ordered_json MappingTracker::mapping_evidence(const MappingKey& key, const Mapping& m) const {
  const Owner& owner = owners_.at(m.owner);
  nlohmann::ordered_json context = nlohmann::ordered_json::array();
  if (m.context & GT_CTX_IRQ) context.push_back("irq");
  if (m.context & GT_CTX_KTHREAD) context.push_back("kthread");
  return {{"device", devices_.at(m.device).name},
          {"iommu_mode", devices_.iommu_mode(m.device)},
          {"bus_address", fmt::format("{:#x}", key.addr)},
          {"size", m.size},
          {"direction", dma_direction_name(m.dir)},
          {"api", dma_api_name(m.api)},
          {"owner",
           {{"pid", owner.process.pid}, {"comm", owner.comm}, {"kind", to_string(owner.kind)},
            {"start_ns", owner.process.start_ns}}},
          {"context", context},
          {"mapped_at_ns", m.map_ts},
          {"stack", stacks_.format(m.stack)}};
}

std::string MappingTracker::owner_label(const Owner& owner) const {
  return fmt::format("{}[{}] ({})", owner.comm, owner.process.pid, to_string(owner.kind));
}

void MappingTracker::on_unbind(const gt_unbind_event& e) {
  const uint32_t device = devices_.intern_key(e.dev);
  DeviceDmaStats& stats = stats_for(device);
  ++stats.unbinds;
  const std::string driver = fixed_string(e.driver, sizeof(e.driver));
  const auto& dev = devices_.at(device);
  auto leaked = collect([&](const MappingKey& k, const Mapping&) { return k.device == device; });
  for (auto& [key, m] : leaked) {
    if (m->reported) continue;  // already a dma_leak_owner_exit finding
    Owner& owner = owners_.at(m->owner);
    ++owner.leaks_reported;
    ++stats.leaked_at_unbind;
    Finding f;
    f.kind = FindingKind::dma_leak_unbind;
    f.severity = Severity::Critical;
    f.start_ns = m->map_ts;
    f.end_ns = e.hdr.ts_ns;
    f.pid = owner.process.pid;
    f.comm = owner.comm;
    f.device = dev.name;
    f.message = fmt::format("{}: {} mapping {:#x} ({} bytes, {}) still mapped after driver {} unbound; mapped by {}",
                            dev.name, dma_api_name(m->api), key.addr, m->size, dma_direction_name(m->dir),
                            driver.empty() ? "?" : driver, owner_label(owner));
    f.evidence = mapping_evidence(key, *m);
    f.evidence["driver"] = driver;
    f.evidence["unbind_ns"] = e.hdr.ts_ns;
    findings_.add(std::move(f));
  }
  // The device is gone from its driver: nothing will unmap these, keep them out of the totals.
  for (auto& [key, m] : leaked) release(*m);
  std::erase_if(duplicates_, [&](const auto& entry) { return entry.first.device == device; });
  for (auto& [key, m] : leaked) {
    outstanding_.erase(key.device, key.addr);
    unmapped_.erase(key);  // an unmap after the unbind is of nothing known, not a double unmap
  }
}

void MappingTracker::on_process_exit(const ProcessInfo& process, uint64_t exit_ns) {
  PendingExit pending{exit_ns + config_.owner_exit_grace_ns, exit_ns, process.key, process.comm, {}};
  // Mappings made while the process table did not know the pid are judged at its exit too.
  for (const ProcessKey& key : {process.key, ProcessKey{process.key.pid, 0}}) {
    const uint32_t* id = owners_.find_process_owner(key);
    if (id && owners_.at(*id).outstanding > 0 &&
        std::find(pending.owners.begin(), pending.owners.end(), *id) == pending.owners.end())
      pending.owners.push_back(*id);
  }
  if (pending.owners.empty()) return;
  // Exits arrive in time order, so this is an append except for a late record.
  auto at = std::upper_bound(pending_.begin(), pending_.end(), pending.deadline_ns,
                             [](uint64_t d, const PendingExit& p) { return d < p.deadline_ns; });
  pending_.insert(at, std::move(pending));
}

void MappingTracker::judge_later(uint32_t owner, const ProcessInfo& process) {
  const uint64_t deadline = process.exit_ns + config_.owner_exit_grace_ns;
  for (PendingExit& p : pending_) {
    if (p.process != process.key || p.exit_ns != process.exit_ns) continue;
    if (std::find(p.owners.begin(), p.owners.end(), owner) == p.owners.end()) p.owners.push_back(owner);
    return;
  }
  PendingExit pending{deadline, process.exit_ns, process.key, process.comm, {owner}};
  auto at = std::upper_bound(pending_.begin(), pending_.end(), deadline,
                             [](uint64_t d, const PendingExit& p) { return d < p.deadline_ns; });
  pending_.insert(at, std::move(pending));
}

void MappingTracker::run_due(uint64_t now_ns) {
  while (!pending_.empty() && pending_.front().deadline_ns < now_ns) {
    const PendingExit exit = std::move(pending_.front());
    pending_.pop_front();
    judge_exit(exit);
  }
}

void MappingTracker::judge_exit(const PendingExit& exit) {
  for (uint32_t id : exit.owners) {
    Owner& owner = owners_.at(id);
    if (owner.outstanding == 0) continue;
    auto leaked = collect([&](const MappingKey&, const Mapping& m) {
      return m.owner == id && !m.reported && m.map_ts <= exit.exit_ns;
    });
    for (auto& [key, m] : leaked) {
      m->reported = true;
      ++owner.leaks_reported;
      ++stats_for(m->device).leaked_after_owner_exit;
      const auto& dev = devices_.at(m->device);
      Finding f;
      f.kind = FindingKind::dma_leak_owner_exit;
      f.severity = Severity::Warning;
      f.start_ns = m->map_ts;
      f.end_ns = exit.deadline_ns;
      f.pid = owner.process.pid;
      f.comm = owner.comm;
      f.device = dev.name;
      f.message = fmt::format("{}[{}] exited with {} mapping {:#x} ({} bytes, {}) of {} still mapped {:.3f} s later",
                              owner.comm, owner.process.pid, dma_api_name(m->api), key.addr, m->size,
                              dma_direction_name(m->dir), dev.name, config_.owner_exit_grace_ns / 1e9);
      f.evidence = mapping_evidence(key, *m);
      f.evidence["owner_exit_ns"] = exit.exit_ns;
      f.evidence["grace_ns"] = config_.owner_exit_grace_ns;
      findings_.add(std::move(f));
    }
  }
}

void MappingTracker::finish() {
  while (!pending_.empty()) {
    not_judged_.push_back(std::move(pending_.front()));
    pending_.pop_front();
  }
}

}  // namespace gputrace
