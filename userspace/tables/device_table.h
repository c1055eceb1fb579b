// DeviceTable: every device the trace mentions, under one dense index. Kernel events name a
// device by its struct device pointer (GT_EV_DEVICE describes it), sysfs facts and some
// events by its name (PCI address); both lead to the same entry.
#pragma once

extern "C" {
#include "bpf/dma.h"
#include "bpf/host.h"
}

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include "userspace/host/pci_devices.h"

#include <unordered_map>
#include <vector>

namespace gputrace {

struct DeviceFacts {
  bool known = false;  // a GT_EV_DEVICE_FACTS record arrived for this name
  int32_t iommu_group = -1;
  uint8_t iommu_mode = GT_IOMMU_UNKNOWN;
  uint8_t link_width = 0;
  uint8_t max_link_width = 0;
  uint32_t link_speed_mts = 0;
  uint32_t max_link_speed_mts = 0;

  bool link_downtrained() const {
    return known && pcie_link_downtrained(link_speed_mts, link_width, max_link_speed_mts, max_link_width);
  }
};

struct DeviceInfo {
  uint64_t key = 0;      // struct device pointer, 0 when only the name is known
  std::string name;      // dev_name(); a placeholder until the device is described
  bool described = false;  // a GT_EV_DEVICE arrived
  bool traced = false;
  std::string driver;
  std::string bus;
  uint32_t pci_class = 0;
  uint16_t vendor = 0;
  uint16_t device = 0;
  DeviceFacts facts;
};

class DeviceTable {
 public:
  // Index of the device with this key, creating a placeholder if it was never described.
  uint32_t intern_key(uint64_t key);
  uint32_t intern_name(std::string_view name);
  std::optional<uint32_t> find_name(std::string_view name) const;
  // Index of the device with this struct device pointer, without creating one (observers).
  std::optional<uint32_t> find_key(uint64_t key) const;
  void on_device(const gt_device_event& e);
  void on_facts(const gt_device_facts_event& e);

  const DeviceInfo& at(uint32_t index) const { return devices_[index]; }
  size_t size() const { return devices_.size(); }
  // "strict", "lazy", ...; "unknown" when no facts arrived for the device.
  const char* iommu_mode(uint32_t index) const;

 private:
  uint32_t add(DeviceInfo info);

  std::vector<DeviceInfo> devices_;
  std::unordered_map<uint64_t, uint32_t> by_key_;
  std::unordered_map<std::string, uint32_t> by_name_;
  // A small direct-mapped cache of key lookups: a host's DMA comes from a handful of devices,
  // interleaved, and an unordered_map lookup per event was a visible share of a replay.
  struct CachedKey {
    uint64_t key = 0;
    uint32_t index = UINT32_MAX;
  };
  std::array<CachedKey, 16> key_cache_{};
};

const char* iommu_mode_name(uint8_t mode);
const char* dma_direction_name(uint8_t dir);
const char* dma_api_name(uint8_t api);

}  // namespace gputrace
