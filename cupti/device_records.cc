#include "cupti/device_records.h"

#include <algorithm>
#include <cstring>

namespace gputrace::cupti {

std::optional<gt_gpu_device_event> make_device_record(uint32_t device_id, uint32_t pci_domain, uint32_t pci_bus,
                                                      uint32_t pci_device, std::string_view name) {
  if (pci_domain > kMaxPciDomain || pci_bus > kMaxPciBus || pci_device > kMaxPciDevice) return std::nullopt;
  gt_gpu_device_event e{};  // zero: the name's NUL and padding, ts_ns, pid, tid
  e.hdr.kind = GT_EV_GPU_DEVICE;
  e.hdr.cpu = GT_GPU_NO_CPU;
  e.hdr.size = sizeof(e);
  e.device_id = device_id;
  e.pci_domain = pci_domain;
  e.pci_bus = pci_bus;
  e.pci_device = pci_device;
  if (const size_t nul = name.find('\0'); nul != std::string_view::npos) name = name.substr(0, nul);
  std::memcpy(e.name, name.data(), std::min(name.size(), sizeof(e.name) - 1));
  return e;
}

bool DeviceAnnouncer::learn(const gt_gpu_device_event& record) {
  Entry& e = devices_[record.device_id];
  if (e.record) return false;
  e.record = record;
  e.sent = false;
  return true;
}

bool DeviceAnnouncer::unresolved(uint32_t device_id) {
  if (!devices_.try_emplace(device_id).second) return false;
  ++unresolved_;
  return true;
}

const gt_gpu_device_event* DeviceAnnouncer::announce(uint32_t device_id, uint64_t epoch) {
  const auto it = devices_.find(device_id);
  if (it == devices_.end() || !it->second.record) return nullptr;
  Entry& e = it->second;
  if (e.sent && e.sent_epoch == epoch && e.sent_generation == generation_) return nullptr;
  e.sent = true;
  e.sent_epoch = epoch;
  e.sent_generation = generation_;
  return &*e.record;
}

size_t DeviceAnnouncer::described() const {
  return static_cast<size_t>(
      std::count_if(devices_.begin(), devices_.end(), [](const auto& d) { return d.second.record.has_value(); }));
}

}  // namespace gputrace::cupti
