#include "userspace/correlate/gpu_devices.h"

#include "userspace/host/pci_devices.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

namespace gputrace {

void GpuDeviceBinding::on_device_record(uint32_t pid, const gt_gpu_device_event& e) {
  const std::string name = fmt::format("{:04x}:{:02x}:{:02x}.0", e.pci_domain, e.pci_bus, e.pci_device);
  // Only devices the host facts or the kernel named: a served process must not be able to
  // add devices (each is a table entry and a metric series).
  const auto device = devices_.find_name(name);
  if (!device) {
    ++ignored_;
    return;
  }
  const auto key = std::make_pair(pid, e.device_id);
  // Full (exited processes are not forgotten one by one: their last activity may still be on
  // its way): start over. The library sends its device records again every few seconds.
  if (bound_.size() >= kMaxBindings && !bound_.count(key)) {
    bound_.clear();
    ++cleared_;
  }
  bound_[key] = *device;  // a later process reusing the pid sends its own records
}

GpuBinding GpuDeviceBinding::resolve(uint32_t pid, uint32_t device_id) const {
  if (auto it = bound_.find({pid, device_id}); it != bound_.end()) return {it->second, false};
  std::vector<std::pair<std::string, uint32_t>> gpus;
  for (uint32_t i = 0; i < devices_.size(); ++i) {
    if (is_gpu_pci_class(devices_.at(i).pci_class)) gpus.emplace_back(devices_.at(i).name, i);
  }
  if (device_id >= gpus.size()) return {};
  std::sort(gpus.begin(), gpus.end());
  return {gpus[device_id].second, true};
}

}  // namespace gputrace
