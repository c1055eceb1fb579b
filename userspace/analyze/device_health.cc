#include "userspace/analyze/device_health.h"

#include "userspace/tables/process_table.h"

#include <fmt/format.h>

#include <algorithm>

namespace gputrace {
namespace {

constexpr uint64_t kFaultAggregationNs = 1'000'000'000;

const char* fault_source_name(uint8_t source) {
  switch (source) {
    case GT_FAULT_TRACEPOINT: return "iommu:io_page_fault";
    case GT_FAULT_DMAR_KMSG: return "dmar";
    default: return "unknown";
  }
}

}  // namespace

DeviceHealthCounts& DeviceHealth::counts_for(uint32_t device) {
  if (device >= counts_.size()) counts_.resize(device + 1);
  return counts_[device];
}

void DeviceHealth::keep(HealthEventKind kind, uint64_t ts, uint32_t device, uint64_t addr, uint64_t value) {
  if (kept_.size() >= max_kept_) {
    ++not_kept_;
    return;
  }
  kept_.push_back(HealthEvent{ts, addr, value, device, kind});
}

void DeviceHealth::on_fault(const gt_iommu_fault_event& e) {
  // The name is the join key: a fault seen only in the kernel log has no device pointer.
  const std::string name = fixed_string(e.name, sizeof(e.name));
  const uint32_t device = !name.empty() ? devices_.intern_name(name) : devices_.intern_key(e.dev);
  ++counts_for(device).iommu_faults;
  keep(HealthEventKind::IommuFault, e.hdr.ts_ns, device, e.iova, e.reason);
  for (OpenFault& open : open_faults_) {
    if (open.device == device && open.iova == e.iova && open.flags == e.flags && open.reason == e.reason &&
        e.hdr.ts_ns - open.first_ns < kFaultAggregationNs) {
      ++open.count;
      open.last_ns = std::max<uint64_t>(open.last_ns, e.hdr.ts_ns);
      return;
    }
  }
  open_faults_.push_back(OpenFault{device, e.iova, e.flags, e.reason, e.source, e.hdr.ts_ns, e.hdr.ts_ns, 1});
}

void DeviceHealth::on_aer(const gt_aer_event& e) {
  const uint32_t device = devices_.intern_name(fixed_string(e.name, sizeof(e.name)));
  DeviceHealthCounts& c = counts_for(device);
  if (e.severity == 2)
    ++c.aer_corrected;
  else if (e.severity == 1)
    ++c.aer_fatal;
  else
    ++c.aer_nonfatal;
  keep(HealthEventKind::Aer, e.hdr.ts_ns, device, 0, e.status);
}

uint32_t DeviceHealth::on_swiotlb(const gt_swiotlb_event& e) {
  const uint32_t device = devices_.intern_key(e.dev);
  DeviceHealthCounts& c = counts_for(device);
  ++c.swiotlb_bounces;
  c.swiotlb_bytes += e.size;
  return device;
}

uint32_t DeviceHealth::on_latency(const gt_iommu_latency_event& e) {
  const uint32_t device = devices_.intern_key(e.dev);
  const bool is_map = e.op == GT_IOMMU_OP_MAP;
  LatencyStats& s = is_map ? counts_for(device).iommu_map_latency : counts_for(device).iommu_unmap_latency;
  ++s.count;
  s.total_ns += e.latency_ns;
  s.max_ns = std::max<uint64_t>(s.max_ns, e.latency_ns);
  s.histogram.add(static_cast<double>(e.latency_ns));
  return device;
}

uint64_t DeviceHealth::next_due_ns() const {
  // The window [first, first + 1 s) is complete once every record before its end was seen.
  return open_faults_.empty() ? UINT64_MAX : open_faults_.front().first_ns + kFaultAggregationNs - 1;
}

void DeviceHealth::run_due(uint64_t now_ns) {
  auto closed = std::stable_partition(open_faults_.begin(), open_faults_.end(), [&](const OpenFault& f) {
    return f.first_ns + kFaultAggregationNs - 1 < now_ns;
  });
  for (auto it = open_faults_.begin(); it != closed; ++it) emit(*it);
  open_faults_.erase(open_faults_.begin(), closed);
}

void DeviceHealth::emit(const OpenFault& fault) {
  const auto& dev = devices_.at(fault.device);
  const char* access = (fault.flags & 1) ? "write" : "read";
  Finding f;
  f.kind = FindingKind::iommu_fault;
  f.severity = Severity::Critical;
  f.start_ns = fault.first_ns;
  f.end_ns = fault.last_ns;
  f.device = dev.name;
  f.message = fmt::format("{}: IOMMU fault on {} of IOVA {:#x} (reason {}){}", dev.name, access, fault.iova,
                          fault.reason, fault.count > 1 ? fmt::format(", {} times within 1 s", fault.count) : "");
  f.evidence = {{"device", dev.name},
                {"iommu_mode", devices_.iommu_mode(fault.device)},
                {"iova", fmt::format("{:#x}", fault.iova)},
                {"access", access},
                {"reason", fault.reason},
                {"source", fault_source_name(fault.source)},
                {"count", fault.count},
                {"first_ns", fault.first_ns},
                {"last_ns", fault.last_ns}};
  findings_.add(std::move(f));
}

}  // namespace gputrace
